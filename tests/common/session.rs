//! A cookie-keeping test client for the agent UI's server side (sign in, forms with the CSRF
//! token), shared by the UI and settings tests.
#![allow(dead_code)]

use super::TestApp;
use actix_web::cookie::Cookie;
use actix_web::{test, App};

/// A cookie-keeping client over the app's actix test service: signs in like a browser
/// and keeps the session cookie (no JavaScript).
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: Vec<Cookie<'static>>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: vec![],
        }
    }

    pub async fn request(&mut self, req: test::TestRequest) -> (u16, String, Option<String>) {
        let svc = test::init_service(
            App::new().configure(switchboard::app::configure(self.app.state.clone())),
        )
        .await;
        let mut req = req;
        for c in &self.cookies {
            req = req.cookie(c.clone());
        }
        let resp = test::call_service(&svc, req.to_request()).await;
        for c in resp.response().cookies() {
            self.cookies.retain(|k| k.name() != c.name());
            if !c.value().is_empty() {
                self.cookies.push(c.into_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8_lossy(&test::read_body(resp).await).to_string();
        (status, body, location)
    }

    pub async fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        self.request(test::TestRequest::get().uri(path)).await
    }

    pub fn csrf_from(html: &str) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).expect("a csrf field") + marker.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> (u16, String, Option<String>) {
        let (_, form, _) = self.get("/app/login").await;
        let csrf = Self::csrf_from(&form);
        self.request(test::TestRequest::post().uri("/app/login").set_form([
            ("email", email),
            ("password", password),
            ("csrf_token", csrf.as_str()),
        ]))
        .await
    }

    /// Opens `page` for its CSRF token, then posts `fields` (and the token) to `action`.
    pub async fn submit(
        &mut self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        let (status, html, _) = self.get(page).await;
        assert_eq!(status, 200, "{page}: {html}");
        let csrf = Self::csrf_from(&html);
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", csrf.as_str()));
        self.request(test::TestRequest::post().uri(action).set_form(form))
            .await
    }
}
