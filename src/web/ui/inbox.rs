//! The inbox screen: filters on the left, the conversation list in the middle, the thread on
//! the right, plus the HTML fragments the page's script swaps in on live updates.

use super::view::{self, Bubble, ConversationRow};
use super::{html, layout, Layout};
use crate::app::AppState;
use crate::db::DbConn;
use crate::domain::accounts::{self, Viewer};
use crate::domain::contacts::{self, Contact};
use crate::domain::conversations::{self, Conversation, ListCounts, ListFilter};
use crate::domain::{custom_filters, inboxes, messages};
use crate::error::{AppError, AppResult};
use crate::whatsapp::window;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

/// The list's filters, as query parameters.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ListQuery {
    /// `me` (Mine), `unassigned` or `all` (default).
    pub assignee_type: Option<String>,
    /// `open` (default), `pending`, `resolved`, `snoozed` or `all`.
    pub status: Option<String>,
    pub inbox_id: Option<i64>,
    /// The sidebar's team filter (`teams.id`).
    pub team_id: Option<i64>,
    pub label: Option<String>,
    pub page: Option<i64>,
    /// Keyset paging of "Load more": `ListCursor::to_param` of the last row shown.
    pub cursor: Option<String>,
    /// The order (`ListSort::parse`); the default is latest activity.
    pub sort_by: Option<String>,
    /// A saved view of the viewer (`custom_filters.id`): the list shows its conditions.
    pub view: Option<i64>,
    /// An unsaved filter from the filter builder: a `POST /conversations/filter` body as JSON.
    pub filter: Option<String>,
}

impl ListQuery {
    /// The status filter: `open` by default, `all` under a saved view or a built filter
    /// (their conditions decide).
    fn status(&self) -> &str {
        let default = if self.view.is_some() || self.filter.is_some() {
            "all"
        } else {
            "open"
        };
        self.status.as_deref().unwrap_or(default)
    }

    /// The sort's `sort_by` value (for the list's sort picker).
    pub fn sort_param(&self) -> &str {
        conversations::ListSort::parse(self.sort_by.as_deref())
            .unwrap_or_default()
            .as_param()
    }

    fn assignee(&self) -> &str {
        self.assignee_type.as_deref().unwrap_or("all")
    }

    /// The query string for a link that keeps these filters, with `page`.
    pub fn href(&self, page: i64) -> String {
        let mut parts = vec![
            format!("assignee_type={}", self.assignee()),
            format!("status={}", self.status()),
        ];
        if let Some(i) = self.inbox_id {
            parts.push(format!("inbox_id={i}"));
        }
        if let Some(t) = self.team_id {
            parts.push(format!("team_id={t}"));
        }
        if let Some(l) = &self.label {
            parts.push(format!("label={}", url_encode(l)));
        }
        if let Some(s) = self.sort_by.as_deref().filter(|s| !s.is_empty()) {
            parts.push(format!("sort_by={}", url_encode(s)));
        }
        if let Some(v) = self.view {
            parts.push(format!("view={v}"));
        }
        if let Some(f) = &self.filter {
            parts.push(format!("filter={}", url_encode(f)));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }

    /// The query string of the page after `cursor`, keeping these filters.
    pub fn href_after(&self, cursor: &conversations::ListCursor) -> String {
        format!("{}&cursor={}", self.href(1), cursor.to_param())
    }

    /// Errors: 422 naming `cursor` when it is not a cursor.
    fn filter(&self) -> AppResult<ListFilter> {
        Ok(ListFilter {
            status: Some(self.status().to_string()),
            assignee_type: Some(self.assignee().to_string()),
            inbox_id: self.inbox_id,
            team_id: self.team_id,
            labels: self.label.clone().into_iter().collect(),
            page: self.page.unwrap_or(1).max(1),
            cursor: conversations::ListCursor::parse_optional(self.cursor.as_deref())?,
            sort: conversations::ListSort::parse(self.sort_by.as_deref())?,
            ..Default::default()
        })
    }

    /// [`Self::filter`] plus the conditions of the saved view or the built filter.
    /// Errors: 404 for a view that is not the viewer's; 422 naming `filter` for a filter that
    /// is not a valid `POST /conversations/filter` body.
    pub(super) fn list_filter(&self, conn: &mut DbConn, viewer: &Viewer) -> AppResult<ListFilter> {
        let mut f = self.filter()?;
        if let Some(id) = self.view {
            f.conditions = Some(custom_filters::find(conn, viewer, id)?.filter(conn)?);
        } else if let Some(raw) = self.filter.as_deref().filter(|r| !r.trim().is_empty()) {
            let body: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| AppError::invalid("filter", format!("filter is not JSON: {e}")))?;
            f.conditions = Some(crate::domain::conversation_filter::Filter::parse_for(
                conn,
                viewer.account_id,
                &body,
            )?);
        }
        Ok(f)
    }
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A sidebar entry.
#[derive(Debug, Clone)]
pub struct SidebarItem {
    pub label: String,
    pub href: String,
    pub count: i64,
    pub active: bool,
    /// A label's colour (`labels.color`, `#rgb` or `#rrggbb`), drawn as a dot; empty for
    /// other entries and for a label used on conversations but not defined.
    pub color: String,
}

/// The sidebar's lists: Mine/Unassigned/All conversations, inboxes, teams, labels, statuses.
pub(super) struct Sidebar {
    pub(super) filters: Vec<SidebarItem>,
    pub(super) inbox_items: Vec<SidebarItem>,
    pub(super) team_items: Vec<SidebarItem>,
    pub(super) label_items: Vec<SidebarItem>,
    pub(super) statuses: Vec<SidebarItem>,
    /// The viewer's saved views (no counts).
    pub(super) saved_views: Vec<SidebarItem>,
}

/// The window note of a conversation whose customer never wrote (one the business started
/// with a template, issue 11).
pub const NEVER_WROTE: &str = "The customer has not written yet";

impl ThreadView {
    /// True when the customer never wrote in this conversation: only a template can be sent,
    /// and the composer's note says so without speaking of "24 hours".
    pub fn customer_never_wrote(&self) -> bool {
        self.window_note == NEVER_WROTE
    }
}

/// The contact panel and the header of an open conversation.
#[derive(Debug, Clone)]
pub struct ThreadView {
    pub display_id: i32,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub contact_name: String,
    pub contact_initials: String,
    pub phone: String,
    pub bsuid: String,
    pub username: String,
    pub status: String,
    pub priority: String,
    pub can_reply: bool,
    /// "Customer service window open until", "Window closed since" or "The customer has not
    /// written yet", followed by `window_at` when there is one.
    pub window_note: String,
    /// When the customer service window closes or closed, as (RFC 3339, "Dec 1, 09:00 UTC");
    /// empty when the customer has not written. A `<time>` the browser localises.
    pub window_at: (String, String),
    pub assignee_id: i64,
    pub team_id: i64,
    pub labels: Vec<String>,
    pub labels_text: String,
    pub agents: Vec<(i64, String)>,
    pub teams: Vec<(i64, String)>,
    pub bubbles: Vec<Bubble>,
    pub other_conversations: Vec<(i32, String)>,
    /// Id of the oldest message shown, for loading earlier ones.
    pub first_message_id: i64,
    /// Whether messages older than the oldest one shown exist (the "Load earlier" control).
    pub has_earlier: bool,
    /// The contact's email, empty when none (contact panel).
    pub email: String,
    /// The assigned agent's name, empty when unassigned (command palette, panel).
    pub assignee_name: String,
    /// `snoozed_until` as RFC 3339 and as "Dec 1, 09:00 UTC" (the script shows it in the
    /// browser's time zone); both empty when the conversation is not snoozed to a time.
    pub snoozed_until_iso: String,
    pub snoozed_until_text: String,
    /// Contact panel details, each as (RFC 3339, "Dec 1, 09:00 UTC"); empty when unknown.
    pub created: (String, String),
    pub first_reply: (String, String),
    pub waiting_since: (String, String),
    /// The conversation's labels with their colours, as chips.
    pub label_chips: Vec<LabelChip>,
    /// Every label of the account (the label picker's choices).
    pub label_choices: Vec<LabelChip>,
    /// The contact's other conversations the viewer sees, newest first.
    pub previous: Vec<PreviousConversation>,
    /// The conversation's participants as (user id, name), by name (issue 10; one query).
    pub participants: Vec<(i64, String)>,
    /// The contact's id (`/contacts/{id}/notes`, which `static/contact_notes.js` posts to).
    pub contact_id: i64,
    /// The contact's newest notes, newest first (at most
    /// [`crate::domain::contact_notes::PANEL_NOTES`]; one query).
    pub notes: Vec<PanelNote>,
    /// The conversation's and the contact's custom attributes with their editors (issue 11;
    /// `templates/partials/custom_attributes.html`, one query for the definitions).
    pub custom_attribute_blocks: Vec<super::custom_attributes::AttributeBlock>,
    /// Issue 13 (hours): "Open now · closes 17:00 (Europe/Berlin)" / "Closed now · opens …"
    /// for the header; empty when the inbox has no business hours.
    pub hours_note: String,
    /// Whether the team is open now (the note's style).
    pub hours_open: bool,
    /// Muted (`conversations::is_muted`): the header says so and offers "Unmute".
    pub muted: bool,
    /// Issue 13 (hours): the contact's CSAT ratings, newest first: (rating, comment, rated at).
    pub csat_ratings: Vec<(String, String, (String, String))>,
    /// Issue 13 (SLA): the account's policies `(id, name)` for the panel's picker.
    pub sla_policies: Vec<(i64, String)>,
    /// The applied policy's id (0: none).
    pub sla_policy_id: i64,
    /// The applied policy's name.
    pub sla_name: Option<String>,
    /// The header's chip (pending deadline or breach).
    pub sla_chip: Option<super::settings_sla::SlaChipView>,
}

/// A contact note in the contact panel.
#[derive(Debug, Clone)]
pub struct PanelNote {
    /// The note's text (escaped by askama, shown with `dir="auto"`).
    pub content: String,
    /// Its author's name, "A deleted user" when the author is gone.
    pub author: String,
    /// When it was written, as (RFC 3339, "Dec 1, 09:00 UTC").
    pub written: (String, String),
}

/// A label with its colour (`labels.color`; [`crate::domain::labels::DEFAULT_COLOR`] for a
/// title used on a conversation but not defined as a label).
#[derive(Debug, Clone)]
pub struct LabelChip {
    pub title: String,
    pub color: String,
    /// Whether the open conversation carries it (the picker marks it selected).
    pub on: bool,
}

/// One of the contact's other conversations in the contact panel.
#[derive(Debug, Clone)]
pub struct PreviousConversation {
    pub display_id: i32,
    pub status: String,
    pub inbox_name: String,
    /// Last activity as RFC 3339 and as "3h" / "Nov 2".
    pub last_activity_iso: String,
    pub last_activity_ago: String,
}

/// "Dec 1, 09:00 UTC" and RFC 3339 of `t`, for `<time>` elements the script localises.
fn stamp(t: Option<chrono::DateTime<chrono::Utc>>) -> (String, String) {
    t.map(|t| {
        (
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            t.format("%b %-d, %H:%M UTC").to_string(),
        )
    })
    .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    /// Issue 13 (hours): (inbox name, "Open now · …", open) of inboxes with business hours.
    hours_states: Vec<(String, String, bool)>,
    layout: Layout,
    rows: Vec<ConversationRow>,
    list_query: ListQuery,
    filters: Vec<SidebarItem>,
    inbox_items: Vec<SidebarItem>,
    team_items: Vec<SidebarItem>,
    label_items: Vec<SidebarItem>,
    statuses: Vec<SidebarItem>,
    saved_views: Vec<SidebarItem>,
    next_page: Option<String>,
    thread: Option<ThreadView>,
    /// The list's sorts `(sort_by, label)` for the picker.
    sorts: Vec<(&'static str, &'static str)>,
    /// The name of the saved view the list shows (`?view=`), which the list's filter summary
    /// and the phone's filter marker name ("View: Hot leads").
    active_view: Option<String>,
    /// One alert per affected inbox (`partials/number_health_banner.html`): administrators
    /// see disconnection, heartbeat and number health; agents only refused sends.
    health_alerts: Vec<crate::domain::workspace_alerts::InboxAlert>,
    /// Issue 15 (ingest): administrators' banner while the ingest backlog alarm is raised.
    ingest_alarm: Option<String>,
}

#[derive(Template)]
#[template(path = "partials/conversation_list.html")]
struct ListPartial {
    layout: Layout,
    rows: Vec<ConversationRow>,
    list_query: ListQuery,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "partials/thread_header.html")]
struct HeaderPartial {
    layout: Layout,
    t: ThreadView,
}

#[derive(Template)]
#[template(path = "partials/message.html")]
struct MessagePartial {
    b: Bubble,
}

/// The earlier page of a thread: its bubbles, oldest first, under a new "Load earlier"
/// control when still earlier messages exist.
#[derive(Template)]
#[template(path = "partials/earlier_messages.html")]
struct EarlierPartial {
    bubbles: Vec<Bubble>,
    has_earlier: bool,
    first_message_id: i64,
}

/// Loads the list rows for `q`, marking `active` as the open conversation.
fn list_rows(
    conn: &mut DbConn,
    viewer: &Viewer,
    q: &ListQuery,
    active: Option<i32>,
) -> AppResult<(Vec<ConversationRow>, ListCounts, Option<String>)> {
    let filter = q.list_filter(conn, viewer)?;
    let conversations::ListPage {
        rows,
        counts,
        next_cursor,
    } = conversations::list_page(conn, viewer, &filter)?;
    let now = chrono::Utc::now();
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    // The preview is the last message someone wrote (the customer, an agent, or a private
    // note), never an activity line such as "Conversation was reopened by…": Chatwoot's
    // `last_non_activity_message`.
    let latest = messages::latest_non_activity_per_conversation(conn, &ids)?;
    let atts = messages::attachments_of(conn, &latest.iter().map(|m| m.id).collect::<Vec<_>>())?;
    // Contacts, unread counts and assignees of the whole page: one statement each, never
    // one per row (issue 10).
    let details = conversations::row_details(conn, viewer.account_id, &rows)?;
    let inbox_names: HashMap<i64, String> = inboxes::list(conn, viewer.account_id, None)?
        .into_iter()
        .map(|(i, _)| (i.id, i.name))
        .collect();
    let latest_by_conversation: HashMap<i64, &messages::Message> =
        latest.iter().map(|m| (m.conversation_id, m)).collect();
    let mut out = Vec::with_capacity(rows.len());
    for c in &rows {
        let contact = details.contact(c)?;
        let last = latest_by_conversation.get(&c.id).copied();
        let last_atts: Vec<_> = last
            .map(|m| {
                atts.iter()
                    .filter(|a| a.message_id == m.id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut row = view::conversation_row(
            c,
            contact,
            last.map(|m| (m, last_atts.as_slice())),
            details.unread(c),
            c.assignee_id
                .and_then(|id| details.assignees.get(&id))
                .map(|m| &m.user),
            inbox_names
                .get(&c.inbox_id)
                .map(String::as_str)
                .unwrap_or(""),
            active,
            now,
        );
        // Issue 13 (SLA): the chip, from the row details' statement.
        row.sla = details
            .sla
            .get(&c.id)
            .and_then(|s| super::settings_sla::SlaChipView::of(&s.chip, now));
        out.push(row);
    }
    // Availability dots: one query for every assignee of the page.
    let assignee_ids: Vec<i64> = rows.iter().filter_map(|c| c.assignee_id).collect();
    let availability =
        crate::domain::profile::availabilities(conn, viewer.account_id, &assignee_ids)?;
    for row in &mut out {
        if let Some(av) = row.assignee.as_mut() {
            av.availability = availability.get(&av.user_id).cloned().unwrap_or_default();
        }
    }
    // "Load more" pages on (last_activity_at, id): a conversation that moves to the top
    // meanwhile neither repeats nor hides another one.
    let next = next_cursor.map(|c| q.href_after(&c));
    Ok((out, counts, next))
}

/// How many messages the thread shows at first.
pub const THREAD_MESSAGES: i64 = 50;

/// Renders bubbles for `rows` of one conversation.
fn bubbles(
    conn: &mut DbConn,
    config: &crate::config::Config,
    contact: &Contact,
    rows: &[messages::Message],
) -> AppResult<Vec<Bubble>> {
    let atts = messages::attachments_of(conn, &rows.iter().map(|m| m.id).collect::<Vec<_>>())?;
    let agent_ids: Vec<i64> = rows.iter().filter_map(|m| m.sender_id).collect();
    let agents: HashMap<i64, String> = accounts::users_by_ids(conn, &agent_ids)?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let quote_ids: Vec<i64> = rows
        .iter()
        .filter_map(|m| m.content_attributes["in_reply_to"].as_i64())
        .collect();
    // The quoted messages, in one statement.
    let quotes: HashMap<i64, String> = messages::contents_by_ids(conn, &quote_ids)?
        .into_iter()
        .map(|(id, content)| (id, content.unwrap_or_else(|| "(media)".into())))
        .collect();
    let name = view::contact_name(contact);
    Ok(rows
        .iter()
        .map(|m| {
            let a: Vec<_> = atts
                .iter()
                .filter(|a| a.message_id == m.id)
                .cloned()
                .collect();
            view::bubble(config, m, &a, &name, &agents, &quotes)
        })
        .collect())
}

fn thread_view(
    conn: &mut DbConn,
    config: &crate::config::Config,
    viewer: &Viewer,
    c: &Conversation,
    with_messages: bool,
) -> AppResult<ThreadView> {
    let contact = contacts::find(conn, c.account_id, c.contact_id)?;
    // The account's inboxes, read once per request (the list and the sidebar read them too).
    let inbox_names: HashMap<i64, String> = inboxes::list(conn, viewer.account_id, None)?
        .into_iter()
        .map(|(i, _)| (i.id, i.name))
        .collect();
    let inbox_name = match inbox_names.get(&c.inbox_id) {
        Some(name) => name.clone(),
        None => inboxes::find(conn, c.account_id, c.inbox_id)?.0.name,
    };
    let now = chrono::Utc::now();
    let can_reply = window::is_open(c.last_incoming_at, now);
    let closes_at = window::closes_at(c.last_incoming_at);
    let window_note = match closes_at {
        Some(_) if can_reply => "Customer service window open until",
        Some(_) => "Window closed since",
        None => NEVER_WROTE,
    }
    .to_string();
    let window_at = stamp(closes_at);
    let page = if with_messages {
        messages::shown_thread_page(conn, c.id, None, THREAD_MESSAGES)?
    } else {
        messages::ThreadPage::default()
    };
    let rows = page.messages;
    let agents: Vec<(i64, String)> = accounts::members_of(conn, viewer.account_id)?
        .into_iter()
        .map(|m| (m.user.id, m.user.name))
        .collect();
    let assignee_name = agents
        .iter()
        .find(|(id, _)| Some(*id) == c.assignee_id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    let teams = accounts::teams_of(conn, viewer.account_id)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    // The contact's other conversations, filtered by the inboxes the viewer sees (one query
    // for the whole list, not one per conversation).
    let visible = viewer.visible_inbox_ids(conn)?;
    let other_rows: Vec<Conversation> = conversations::for_contact(conn, c.contact_id)?
        .into_iter()
        .filter(|o| o.id != c.id && visible.as_ref().is_none_or(|ids| ids.contains(&o.inbox_id)))
        .collect();
    let others = other_rows
        .iter()
        .map(|o| (o.display_id, o.status.clone()))
        .collect();
    let previous = other_rows
        .iter()
        .map(|o| PreviousConversation {
            display_id: o.display_id,
            status: o.status.clone(),
            inbox_name: inbox_names.get(&o.inbox_id).cloned().unwrap_or_default(),
            last_activity_iso: stamp(Some(o.last_activity_at)).0,
            last_activity_ago: view::time_ago(o.last_activity_at, now),
        })
        .collect();
    let defined = crate::domain::labels::list(conn, viewer.account_id)?;
    let color_of = |title: &str| {
        defined
            .iter()
            .find(|l| l.title.eq_ignore_ascii_case(title))
            .map(|l| l.color.clone())
            .unwrap_or_else(|| crate::domain::labels::DEFAULT_COLOR.to_string())
    };
    let label_chips = c
        .labels
        .iter()
        .map(|l| LabelChip {
            title: l.clone(),
            color: color_of(l),
            on: true,
        })
        .collect();
    let label_choices = defined
        .iter()
        .map(|l| LabelChip {
            on: c.labels.iter().any(|x| x.eq_ignore_ascii_case(&l.title)),
            title: l.title.clone(),
            color: l.color.clone(),
        })
        .collect();
    let times = conversations::reply_times(conn, c.id)?;
    let waiting = if c.status == "resolved" {
        None
    } else {
        times.waiting_since
    };
    // Issue 13 (hours): open now / opens at, and the contact's CSAT ratings (one statement).
    let (hours_state, csat_ratings) =
        crate::domain::inbox_hours::thread_panel(conn, c.inbox_id, c.contact_id, now)?;
    let (snoozed_until_iso, snoozed_until_text) = if c.status == "snoozed" {
        stamp(c.snoozed_until)
    } else {
        Default::default()
    };
    // Issue 13 (SLA): the policies and the applied one, in one statement.
    let (sla_policies, sla_applied) = crate::domain::sla::header_data(conn, c.account_id, c.id)?;
    Ok(ThreadView {
        display_id: c.display_id,
        inbox_id: c.inbox_id,
        inbox_name,
        contact_name: view::contact_name(&contact),
        contact_initials: view::initials(&view::contact_name(&contact)),
        phone: contact.phone_number.clone().unwrap_or_default(),
        bsuid: contact.bsuid.clone().unwrap_or_default(),
        username: contact.username.clone().unwrap_or_default(),
        status: c.status.clone(),
        priority: c.priority.clone().unwrap_or_default(),
        can_reply,
        window_note,
        window_at,
        assignee_id: c.assignee_id.unwrap_or(0),
        team_id: c.team_id.unwrap_or(0),
        labels_text: c.labels.join(", "),
        labels: c.labels.clone(),
        agents,
        teams,
        first_message_id: rows.first().map(|m| m.id).unwrap_or(0),
        has_earlier: page.has_earlier,
        bubbles: bubbles(conn, config, &contact, &rows)?,
        other_conversations: others,
        email: contact.email.clone().unwrap_or_default(),
        assignee_name,
        snoozed_until_iso,
        snoozed_until_text,
        created: stamp(Some(c.created_at)),
        first_reply: stamp(times.first_reply_at),
        waiting_since: stamp(waiting),
        label_chips,
        label_choices,
        previous,
        participants: crate::domain::inbox_notifications::participant_names(conn, c)?,
        contact_id: c.contact_id,
        notes: crate::domain::contact_notes::newest(
            conn,
            c.account_id,
            c.contact_id,
            crate::domain::contact_notes::PANEL_NOTES,
        )?
        .into_iter()
        .map(|n| PanelNote {
            content: n.note.content,
            author: n.author_name.unwrap_or_else(|| "A deleted user".into()),
            written: stamp(Some(n.note.created_at)),
        })
        .collect(),
        hours_note: hours_state.as_ref().map(|h| h.label()).unwrap_or_default(),
        hours_open: hours_state.as_ref().is_some_and(|h| h.open),
        muted: crate::domain::conversations::is_muted(c),
        sla_policy_id: sla_applied.as_ref().map(|(id, _)| *id).unwrap_or(0),
        sla_name: sla_applied.as_ref().and_then(|(id, _)| {
            sla_policies
                .iter()
                .find(|(p, _)| p == id)
                .map(|(_, n)| n.clone())
        }),
        sla_chip: sla_applied
            .as_ref()
            .and_then(|(_, chip)| super::settings_sla::SlaChipView::of(chip, now)),
        sla_policies,
        csat_ratings: csat_ratings
            .into_iter()
            .map(|(r, c, at)| (r, c, stamp(at)))
            .collect(),
        custom_attribute_blocks: {
            use crate::domain::custom_attributes::{self as ca, Model};
            let definitions = ca::list(conn, c.account_id, None)?;
            vec![
                super::custom_attributes::block(
                    &definitions,
                    Model::Conversation,
                    c.display_id.into(),
                    &c.custom_attributes,
                ),
                super::custom_attributes::block(
                    &definitions,
                    Model::Contact,
                    c.contact_id,
                    &contact.custom_attributes,
                ),
            ]
        },
    })
}

fn sidebar(
    conn: &mut DbConn,
    viewer: &Viewer,
    q: &ListQuery,
    counts: &ListCounts,
) -> AppResult<Sidebar> {
    let base = format!("/app/accounts/{}/conversations", viewer.account_id);
    let with = |f: &dyn Fn(&mut ListQuery)| {
        let mut n = q.clone();
        n.page = None;
        n.cursor = None;
        // The fixed filters leave a saved view or a built filter.
        n.view = None;
        n.filter = None;
        f(&mut n);
        format!("{base}?{}", n.href(1))
    };
    // "All conversations" (any assignee) and "All statuses" are two different filters, so
    // they are not both called "All" (issue 9).
    let filters = [
        ("me", "Mine", counts.mine_count),
        ("unassigned", "Unassigned", counts.unassigned_count),
        ("all", "All conversations", counts.all_count),
    ]
    .into_iter()
    .map(|(key, label, count)| SidebarItem {
        color: String::new(),
        label: label.into(),
        href: with(&|n| n.assignee_type = Some(key.into())),
        count,
        active: q.assignee() == key,
    })
    .collect();
    // Every count from one read of the maintained counts (no scan of conversations).
    let visible = viewer.visible_inbox_ids(conn)?;
    let snapshot = conversations::count_snapshot(conn, viewer.account_id)?;
    let by_inbox = snapshot.by_inbox(visible.as_deref(), q.status());
    let by_label = snapshot.by_label(visible.as_deref(), q.status());
    let inbox_items = inboxes::list(conn, viewer.account_id, visible.as_deref())?
        .into_iter()
        .map(|(i, _)| SidebarItem {
            color: String::new(),
            count: by_inbox
                .iter()
                .find(|(id, _)| *id == i.id)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            href: with(&|n| {
                n.inbox_id = if q.inbox_id == Some(i.id) {
                    None
                } else {
                    Some(i.id)
                }
            }),
            active: q.inbox_id == Some(i.id),
            label: i.name,
        })
        .collect();
    let by_team = conversations::team_counts(conn, viewer, q.status())?;
    let team_items = accounts::teams_of(conn, viewer.account_id)?
        .into_iter()
        .map(|t| SidebarItem {
            color: String::new(),
            count: by_team
                .iter()
                .find(|(id, _)| *id == t.id)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            href: with(&|n| {
                n.team_id = if q.team_id == Some(t.id) {
                    None
                } else {
                    Some(t.id)
                }
            }),
            active: q.team_id == Some(t.id),
            label: t.name,
        })
        .collect();
    let colors: HashMap<String, String> = crate::domain::labels::list(conn, viewer.account_id)?
        .into_iter()
        .map(|l| (l.title.to_lowercase(), l.color))
        .collect();
    let label_items = by_label
        .into_iter()
        .map(|(label, count)| SidebarItem {
            color: colors
                .get(&label.to_lowercase())
                .cloned()
                .unwrap_or_default(),
            href: with(&|n| {
                n.label = if q.label.as_deref() == Some(label.as_str()) {
                    None
                } else {
                    Some(label.clone())
                }
            }),
            active: q.label.as_deref() == Some(label.as_str()),
            label,
            count,
        })
        .collect();
    let by_status = snapshot.by_status(visible.as_deref());
    let statuses = [
        ("open", "Open"),
        ("pending", "Pending"),
        ("snoozed", "Snoozed"),
        ("resolved", "Resolved"),
        ("all", "All statuses"),
    ]
    .into_iter()
    .map(|(s, label)| SidebarItem {
        color: String::new(),
        label: label.to_string(),
        href: with(&|n| n.status = Some(s.into())),
        count: by_status
            .iter()
            .filter(|(status, _)| s == "all" || status == s)
            .map(|(_, n)| n)
            .sum(),
        active: q.status() == s,
    })
    .collect();
    let saved_views = custom_filters::list(conn, viewer)?
        .into_iter()
        .map(|v| SidebarItem {
            href: format!(
                "{base}?assignee_type=all&view={}{}",
                v.id,
                q.sort_by
                    .as_deref()
                    .map(|s| format!("&sort_by={}", url_encode(s)))
                    .unwrap_or_default()
            ),
            active: q.view == Some(v.id),
            label: v.name,
            count: 0,
            color: String::new(),
        })
        .collect();
    Ok(Sidebar {
        filters,
        inbox_items,
        team_items,
        label_items,
        statuses,
        saved_views,
    })
}

/// The sidebar for `q` as `viewer` sees it now (the live-update partial).
pub(super) fn sidebar_now(conn: &mut DbConn, viewer: &Viewer, q: &ListQuery) -> AppResult<Sidebar> {
    let filter = q.list_filter(conn, viewer)?;
    let counts = conversations::list_counts(conn, viewer, &filter)?;
    sidebar(conn, viewer, q, &counts)
}

async fn render_page(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    display_id: Option<i32>,
    q: ListQuery,
) -> HttpResponse {
    let (layout, viewer) = match layout(state, req, account_id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let config = state.config.clone();
    let ingest_alarm = (layout.is_admin)
        .then(|| state.ingest_alarm.raised().map(|r| r.banner()))
        .flatten();
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let thread = match display_id {
                Some(d) => {
                    let c = conversations::find_for_viewer(conn, &viewer, d)?;
                    Some(thread_view(conn, &config, &viewer, &c, true)?)
                }
                None => None,
            };
            let (rows, counts, next_page) = list_rows(conn, &viewer, &q, display_id)?;
            let side = sidebar(conn, &viewer, &q, &counts)?;
            let active_view = side
                .saved_views
                .iter()
                .find(|v| v.active)
                .map(|v| v.label.clone());
            // One statement for agents, two for administrators (issue 12).
            let health_alerts = crate::domain::workspace_alerts::for_viewer(conn, &viewer)?;
            // Issue 13 (hours): one statement for the inboxes' open state.
            let visible = viewer.visible_inbox_ids(conn)?;
            let hours_states = crate::domain::inbox_hours::page_states(
                conn,
                viewer.account_id,
                visible.as_deref(),
                chrono::Utc::now(),
            )?
            .into_iter()
            .map(|(_, name, s)| (name, s.label(), s.open))
            .collect();
            Ok(InboxPage {
                ingest_alarm,
                hours_states,
                health_alerts,
                active_view,
                layout,
                rows,
                list_query: q,
                filters: side.filters,
                inbox_items: side.inbox_items,
                team_items: side.team_items,
                label_items: side.label_items,
                statuses: side.statuses,
                saved_views: side.saved_views,
                next_page,
                thread,
                sorts: conversations::ListSort::ALL
                    .iter()
                    .map(|(s, label)| (s.as_param(), *label))
                    .collect(),
            })
        })
        .await;
    match result.and_then(|p| html(&p)) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `GET /app/accounts/{id}/conversations`: the inbox screen without an open thread.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    render_page(&state, &req, path.into_inner(), None, q.into_inner()).await
}

/// `GET /app/accounts/{id}/conversations/{display_id}`: the inbox screen with the thread.
pub async fn page_with_thread(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let (account_id, display_id) = path.into_inner();
    render_page(&state, &req, account_id, Some(display_id), q.into_inner()).await
}

/// `?active=` marks the open conversation in a list fragment.
#[derive(Debug, Deserialize)]
pub struct ActiveQuery {
    pub active: Option<i32>,
}

/// `GET …/partials/conversations?…`: the list fragment (live updates, paging).
pub async fn list_partial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
    active: web::Query<ActiveQuery>,
) -> HttpResponse {
    let (layout, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let q = q.into_inner();
    let active = active.active;
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let (rows, _, next_page) = list_rows(conn, &viewer, &q, active)?;
            Ok(ListPartial {
                layout,
                rows,
                list_query: q,
                next_page,
            })
        })
        .await;
    match result.and_then(|p| html(&p)) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `GET …/partials/conversations/{display_id}/header`: the thread header and contact panel.
pub async fn header_partial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
) -> HttpResponse {
    let (account_id, display_id) = path.into_inner();
    let (layout, viewer) = match layout(&state, &req, account_id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let config = state.config.clone();
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            Ok(HeaderPartial {
                layout,
                t: thread_view(conn, &config, &viewer, &c, false)?,
            })
        })
        .await;
    match result.and_then(|p| html(&p)) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `GET …/partials/messages/{message_id}`: one bubble (new or updated message); empty for a
/// reaction, which shows only as a badge on the message it reacts to (that message's own
/// `message.updated` redraws it).
pub async fn message_partial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> HttpResponse {
    let (account_id, message_id) = path.into_inner();
    let (_, viewer) = match layout(&state, &req, account_id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let config = state.config.clone();
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let m = messages::find(conn, message_id)?
                .filter(|m| m.account_id == viewer.account_id)
                .ok_or_else(|| AppError::NotFound(format!("message {message_id} not found")))?;
            if !viewer.can_see_inbox(conn, m.inbox_id)? {
                return Err(AppError::NotFound(format!(
                    "message {message_id} not found"
                )));
            }
            if messages::is_reaction(&m) {
                return Ok(None);
            }
            let c = conversations::find_by_id(conn, m.conversation_id)?;
            let contact = contacts::find(conn, c.account_id, c.contact_id)?;
            let b = bubbles(conn, &config, &contact, std::slice::from_ref(&m))?.remove(0);
            Ok(Some(MessagePartial { b }))
        })
        .await;
    match result.and_then(|p| match p {
        Some(p) => html(&p),
        None => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("")),
    }) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `?before=` (a message id) of the earlier-messages fragment.
#[derive(Debug, Deserialize)]
pub struct EarlierQuery {
    pub before: Option<String>,
}

/// `GET …/partials/conversations/{display_id}/messages?before={message id}`: the
/// [`THREAD_MESSAGES`] messages before that one in `(created_at, id)` order (what "Load
/// earlier" and scrolling back to the top of the thread insert). Errors: 422 when `before` is
/// missing, not an id, or not a message of this conversation; 404 for a conversation the
/// viewer does not see.
pub async fn earlier_partial(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    q: web::Query<EarlierQuery>,
) -> HttpResponse {
    let (account_id, display_id) = path.into_inner();
    let (_, viewer) = match layout(&state, &req, account_id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let before = match q.before.as_deref().map(str::trim).map(str::parse::<i64>) {
        Some(Ok(id)) if id > 0 => id,
        _ => {
            return actix_web::ResponseError::error_response(&AppError::invalid(
                "before",
                "before must be the id of a message in this conversation",
            ))
        }
    };
    let config = state.config.clone();
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            let page = messages::shown_thread_page(conn, c.id, Some(before), THREAD_MESSAGES)?;
            let contact = contacts::find(conn, c.account_id, c.contact_id)?;
            Ok(EarlierPartial {
                first_message_id: page.messages.first().map(|m| m.id).unwrap_or(0),
                has_earlier: page.has_earlier,
                bubbles: bubbles(conn, &config, &contact, &page.messages)?,
            })
        })
        .await;
    match result.and_then(|p| html(&p)) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `GET …/partials/conversation_ids?…` (the list's query): `{"ids":[display_id…]}`, every
/// conversation of the list's current filter in list order, at most
/// `conversations::MAX_PAGE_ROWS` (the bulk bar's "select all matching"), and `"total"`, how
/// many match. Answers as the list fragment otherwise.
pub async fn matching_ids(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let q = q.into_inner();
    let result = state
        .db(move |conn| {
            // One read of membership, inboxes, teams, labels and counts per request.
            let _memo = crate::domain::request_memo::scope();
            let mut f = q.list_filter(conn, &viewer)?;
            f.limit = Some(conversations::MAX_PAGE_ROWS);
            f.cursor = None;
            f.page = 1;
            let page = conversations::list_page(conn, &viewer, &f)?;
            let total = match q.assignee() {
                "me" => page.counts.mine_count,
                "unassigned" => page.counts.unassigned_count,
                "assigned" => page.counts.assigned_count,
                _ => page.counts.all_count,
            };
            Ok(serde_json::json!({
                "ids": page.rows.iter().map(|c| c.display_id).collect::<Vec<_>>(),
                "total": total,
            }))
        })
        .await;
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}
