use crate::browser_kit::*;
use crate::common::*;

// Issue 14 (reports) in the browser: the Reports page at 1440×900 and 390×844 with the
// administrator's session cookie: both charts drawn (canvas with a size), the overview
// counting the open conversation, a date range and grouping changed (the table follows), a
// report CSV and the per-conversation CSV downloaded in the page and parsed. axe (no serious
// violations), no sideways scrolling on the phone, screenshots.

use fantoccini::Client;

/// The document itself never scrolls: the Reports pane does (as the other screens).
const PANE_SCROLLS: &str =
    "document.documentElement.scrollHeight <= document.documentElement.clientHeight + 1 \
     && document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1 \
     && (() => { const m = document.getElementById('main'); return m.scrollHeight > m.clientHeight \
          && getComputedStyle(m).overflowY === 'auto'; })()";

async fn fetch_text(c: &Client, selector: &str) -> String {
    let v = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1]; \
                 fetch(document.querySelector('{selector}').href, {{credentials: 'same-origin'}}) \
                   .then(r => r.text()).then(done, e => done('ERROR ' + e));"
            ),
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}

fn column_sum(csv_text: &str, column: &str) -> f64 {
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let i = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    rdr.records()
        .map(|r| r.unwrap()[i].parse::<f64>().unwrap_or(0.0))
        .sum()
}

#[tokio::test]
async fn reports_page_draws_charts_changes_range_and_downloads_csv() {
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let month_ago = (chrono::Local::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();

    for (w, h, dark) in [
        (1440u32, 900u32, false),
        (390, 844, false),
        (1440, 900, true),
        (390, 844, true),
    ] {
        let c = if dark {
            env.browser_with(w, h, &["--force-dark-mode"]).await
        } else {
            env.browser(w, h).await
        };
        let theme = if dark { "-dark" } else { "" };
        env.sign_in_admin(&c).await;
        goto_app(&c, &env, "/reports").await;
        wait_js(
            &c,
            "document.querySelector('[data-reports]').dataset.loaded === 'true'",
            "the reports to load",
        )
        .await;
        wait_js(
            &c,
            "(() => { const cs = [...document.querySelectorAll('.reports-chart canvas')]; \
               return cs.length === 2 && cs.every(x => x.getBoundingClientRect().width > 200 && x.getBoundingClientRect().height > 150); })()",
            "both charts drawn",
        )
        .await;
        let open = js(
            &c,
            "return document.querySelector('#overview-kpis .reports-kpi-value').textContent;",
        )
        .await;
        assert_eq!(open, "1");
        let created = js(
            &c,
            "return document.querySelector('#summary-kpis .reports-kpi-value').textContent;",
        )
        .await;
        assert_eq!(created, "1");
        assert!(js(&c, &format!("return {NO_OVERFLOW};"))
            .await
            .as_bool()
            .unwrap());
        assert!(
            js(&c, &format!("return {PANE_SCROLLS};"))
                .await
                .as_bool()
                .unwrap(),
            "the document scrolls instead of the Reports pane"
        );
        // The live overview and the times table fit the width, phone included (no sideways
        // scroll inside their boxes).
        assert_eq!(
            js(
                &c,
                "return ['overview-inboxes', 'overview-teams', 'overview-agents', 'table-times'] \
                   .filter(id => { const t = document.getElementById(id); \
                                   return t.scrollWidth > t.clientWidth + 1; });"
            )
            .await,
            serde_json::json!([]),
            "tables that scroll sideways at {w} px"
        );
        screenshot(&c, &format!("reports-{w}{theme}")).await;
        // Inbox names stay whole (the table scrolls inside its box instead).
        js(
            &c,
            "const s = document.getElementById('breakdown-by'); s.value = 'inbox'; \
             s.dispatchEvent(new Event('change')); return true;",
        )
        .await;
        wait_js(
            &c,
            "(() => { const a = document.querySelector('#table-breakdown tbody td a'); \
               return a && a.getClientRects().length === 1 && a.href.includes('inbox_id='); })()",
            "an inbox name on one line",
        )
        .await;
        for section in [
            "times-report",
            "breakdown-report",
            "whatsapp-report",
            "sla-report",
        ] {
            js(
                &c,
                &format!(
                    "document.getElementById('{section}').scrollIntoView({{behavior: 'instant'}}); return true;"
                ),
            )
            .await;
            screenshot(&c, &format!("reports-{section}-{w}{theme}")).await;
        }
        let axe = serious_axe_violations(&c).await;
        assert!(axe.is_empty(), "{axe:#?}");
        if dark {
            c.close().await.unwrap();
            continue;
        }

        // A month, by week: the table follows and the URL keeps the range.
        js(
            &c,
            &format!(
                "document.getElementById('reports-from').value = '{month_ago}'; \
                 document.getElementById('reports-group').value = 'week'; \
                 document.querySelector('#reports-controls button[type=submit]').click(); return true;"
            ),
        )
        .await;
        wait_js(
            &c,
            "location.search.includes('group_by=week') && document.querySelector('[data-reports]').dataset.loaded === 'true' \
             && document.querySelector('#table-conversations th').textContent === 'Week of' \
             && document.querySelectorAll('#table-conversations tbody tr').length >= 4",
            "the weekly table",
        )
        .await;

        // The report CSV and the per-conversation CSV, through the session cookie.
        let report = fetch_text(&c, "[data-export=conversations]").await;
        assert_eq!(column_sum(&report, "conversations_count"), 1.0, "{report}");
        assert_eq!(column_sum(&report, "incoming_messages_count"), 1.0);
        let rows = fetch_text(&c, "[data-export-rows]").await;
        let mut rdr = csv::Reader::from_reader(rows.as_bytes());
        let records: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len(), 1, "{rows}");
        assert_eq!(&records[0][2], "open");
        let sla = fetch_text(&c, "[data-export=sla]").await;
        assert!(
            sla.starts_with("policy_id,policy,applied,hit,missed"),
            "{sla}"
        );
        screenshot(&c, &format!("reports-week-{w}")).await;
        c.close().await.unwrap();
    }
}
