//! The contact CSV import page in headless Chromium against the real server: upload a file,
//! watch the progress finish, see the refused rows with line and reason; a file that is not
//! CSV shows the server's reason by the file input. Screenshots at 1440×900, 390×844 and in
//! the dark theme (`target/screenshots/csv-import-*.png`), and axe-core's WCAG 2.1 AA rules on
//! each.

use crate::browser_kit::*;
#[allow(unused_imports)]
use crate::common::*;

use fantoccini::{Client, Locator};

fn write_file(env: &Env, name: &str, bytes: &[u8]) -> String {
    std::fs::create_dir_all(&env.storage).unwrap();
    let p = env.storage.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().to_string()
}

async fn upload(c: &Client, file: &str) {
    c.find(Locator::Id("import-file"))
        .await
        .unwrap()
        .send_keys(file)
        .await
        .unwrap();
    click(c, "#import-submit").await;
}

#[tokio::test]
async fn import_page_uploads_shows_progress_and_bad_rows() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    let account = env.account_id;
    let page = format!("/app/accounts/{account}/contacts/import");
    let mut text = String::from("name,email,phone_number,company_name,city,plan\n");
    for i in 0..3_000 {
        match i {
            10 => text.push_str("Bad Mail,not-an-email,,,,\n"),
            1_500 => text.push_str("Bad Phone,,+12 3,,,\n"),
            2_900 => text.push_str(",,,Acme,Porto,gold\n"),
            _ => text.push_str(&format!(
                "Cliente {i},cliente{i}@example.com,+35191{i:07},Acme {},Lisboa,{}\n",
                i % 9,
                if i % 2 == 0 { "gold" } else { "silver" }
            )),
        }
    }
    let good = write_file(&env, "clientes.csv", text.as_bytes());
    let bad = write_file(&env, "photo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let mut report = Vec::new();

    // Desktop: upload, progress, bad rows.
    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    c.goto(&env.url(&page)).await.unwrap();
    wait_js(
        &c,
        "document.getElementById('import-form')",
        "the import form",
    )
    .await;
    for v in axe_violations(&c).await {
        report.push(format!("empty@1440: {v}"));
    }
    upload(&c, &good).await;
    wait_js(
        &c,
        "document.getElementById('import-progress').dataset.status",
        "the import's progress",
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('import-progress').dataset.status === 'completed'",
        "the import to finish",
    )
    .await;
    let lines = js(
        &c,
        "return [...document.querySelectorAll('#import-error-rows tr')].map(tr => [...tr.children].map(td => td.textContent))",
    )
    .await;
    let lines: Vec<Vec<String>> = serde_json::from_value(lines).unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0][0], "12");
    assert_eq!(lines[0][1], "email");
    assert!(lines[0][2].contains("not a valid email"), "{lines:?}");
    assert_eq!(lines[1][0], "1502");
    assert!(lines[1][2].contains("E.164"), "{lines:?}");
    assert_eq!(lines[2][0], "2902");
    let status = js(
        &c,
        "return document.getElementById('import-status').textContent",
    )
    .await;
    assert!(
        status.as_str().unwrap().contains("2,997 contacts imported"),
        "{status}"
    );
    let url = c.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").starts_with("import="), "{url}");
    screenshot(&c, "csv-import-1440").await;
    for v in axe_violations(&c).await {
        report.push(format!("done@1440: {v}"));
    }
    let import_url = url.to_string();
    c.close().await.unwrap();

    // Phone: the finished import from its address, then a file that is not CSV.
    let c = env.browser(390, 844).await;
    env.sign_in_admin(&c).await;
    c.goto(&import_url).await.unwrap();
    wait_js(
        &c,
        "document.getElementById('import-progress').dataset.status === 'completed' && document.querySelectorAll('#import-error-rows tr').length === 3",
        "the finished import",
    )
    .await;
    let overflow = js(
        &c,
        "return [document.documentElement, document.querySelector('main.page'), ...document.querySelectorAll('main.page .card')].some(e => e.scrollWidth > e.clientWidth + 1)",
    )
    .await;
    assert_eq!(overflow, false, "the page overflows sideways at 390px");
    screenshot(&c, "csv-import-390").await;
    for v in axe_violations(&c).await {
        report.push(format!("done@390: {v}"));
    }
    upload(&c, &bad).await;
    wait_js(
        &c,
        "!document.getElementById('import-file-error').hidden",
        "the file error",
    )
    .await;
    let error = js(
        &c,
        "return document.getElementById('import-file-error').textContent",
    )
    .await;
    assert!(
        error.as_str().unwrap().contains("not a CSV text file"),
        "{error}"
    );
    let invalid = js(
        &c,
        "return document.getElementById('import-file').getAttribute('aria-invalid')",
    )
    .await;
    assert_eq!(invalid, "true");
    let overflow = js(
        &c,
        "return [document.documentElement, document.querySelector('main.page'), ...document.querySelectorAll('main.page .card')].some(e => e.scrollWidth > e.clientWidth + 1)",
    )
    .await;
    assert_eq!(
        overflow, false,
        "the page overflows sideways at 390px with the error"
    );
    screenshot(&c, "csv-import-error-390").await;
    for v in axe_violations(&c).await {
        report.push(format!("error@390: {v}"));
    }
    c.close().await.unwrap();

    // Dark theme.
    let c = env.browser_with(1440, 900, &["--force-dark-mode"]).await;
    env.sign_in_admin(&c).await;
    c.goto(&import_url).await.unwrap();
    wait_js(
        &c,
        "document.getElementById('import-progress').dataset.status === 'completed' && document.querySelectorAll('#import-error-rows tr').length === 3",
        "the finished import (dark)",
    )
    .await;
    screenshot(&c, "csv-import-dark").await;
    for v in axe_violations(&c).await {
        report.push(format!("done@dark: {v}"));
    }
    c.close().await.unwrap();

    // The export the page links to.
    let resp = env
        .http
        .get(env.url(&format!(
            "/api/v1/accounts/{account}/contacts/export?q=cliente"
        )))
        .header("api_access_token", &env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    assert_eq!(body.lines().count(), 1 + 2_997);
    assert!(report.is_empty(), "axe-core found:\n{}", report.join("\n"));
}
