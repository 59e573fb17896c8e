//! Issue 15 in headless Chromium: with the server's files in an S3 bucket (moto's server mode
//! on loopback, `tests/storage_support`), a customer's photo downloaded from the Graph
//! stand-in lands in the bucket and shows in the thread of a signed-in agent
//! (`naturalWidth > 0`), streamed from the bucket; nothing is written to the node's disk.
//! Screenshots `target/screenshots/storage-bucket-media-{desktop,phone}.png`.

use crate::browser_kit::*;

#[tokio::test]
async fn media_from_the_bucket_loads_in_the_thread() {
    let _one = SERIAL.lock().await;
    let bucket = crate::storage_support::bucket("browser").await;
    let mut env = Env::start().await;
    env.server_env.extend(bucket.env());
    env.restart_server().await;
    env.create_inbox().await;
    env.post_webhook(MEDIA[0].webhook()).await;
    env.wait_conversations(1).await;
    crate::storage_support::eventually("the photo in the bucket", || async {
        bucket
            .keys()
            .await
            .iter()
            .any(|k| k.starts_with("attachments/"))
    })
    .await;
    let key = bucket.keys().await.remove(0);
    assert_eq!(bucket.object(&key).await.unwrap(), MEDIA[0].bytes);
    let local: Vec<String> = crate::storage_support::local_files(&env.storage)
        .into_iter()
        .filter(|f| !f.starts_with("mail"))
        .collect();
    assert!(local.is_empty(), "nothing on the node's disk: {local:?}");

    for (w, h, tag) in [(1440, 900, "desktop"), (390, 844, "phone")] {
        let c = env.browser(w, h).await;
        env.sign_in_admin(&c).await;
        open_conversation(&c, &env, 1).await;
        assert_eq!(assert_media_loaded(&c).await, 1);
        let width = js(
            &c,
            "return document.querySelector('#messages img').naturalWidth",
        )
        .await;
        assert!(width.as_u64().unwrap() > 0, "{width}");
        let violations = serious_axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:?}");
        screenshot(&c, &format!("storage-bucket-media-{tag}")).await;
        c.close().await.unwrap();
    }
}
