//! The in-app notification centre (the bell), @mentions in private notes and conversation
//! participants: Chatwoot's `notifications`, `Messages::MentionService` and
//! `conversation_participants`.
//!
//! | `notification_type` | who | when | secondary actor |
//! |---|---|---|---|
//! | `conversation_assignment` | the new assignee | someone else assigned them ([`conversation_assigned`], from `notifications::conversation_assigned`) | `User`: who assigned |
//! | `conversation_mention` | each mentioned agent, and each member of a mentioned team | a private note mentions them ([`agent_message`]) | `Message`: the note (Chatwoot's) |
//! | `assigned_conversation_new_message` | the assignee | a customer message arrives ([`customer_message`]) | `Message` |
//! | `participating_conversation_new_message` | each participant but the assignee | a customer message arrives | `Message` |
//!
//! Only agents who still belong to the account and may see the conversation's inbox
//! (administrators, or members of the inbox) are ever notified. Every function here writes
//! in ONE statement, on the connection it is given: the notification rows, one
//! `notification.created` realtime event per row (delivered only to that user's SSE
//! connections, see `web::realtime`), and the email jobs of the users whose settings allow
//! that kind (`notifications::Settings`). Call them inside the transaction of the change.
//!
//! Participants: an agent who writes a reply or a note in a conversation becomes a
//! participant (Chatwoot does), so does an agent mentioned in a note; the participants API
//! adds and removes them by hand. Participants hear about new customer messages.
//!
//! Mentions are stored in a note's content as Chatwoot writes them:
//! `[@Display Name](mention://user/USER_ID/Display%20Name)` or
//! `[@Team](mention://team/TEAM_ID/Team)` (see [`parse_mentions`]). They are parsed from
//! private notes only, never from replies sent to WhatsApp.

use super::accounts::{Member, Role, Viewer};
use super::conversations::Conversation;
use super::messages::Message;
use crate::db::prepared::Prepare;
use crate::error::{AppError, AppResult};
use crate::jobs::email;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use serde_json::json;

/// `conversation_assignment`: a conversation was assigned to the user by someone else.
pub const CONVERSATION_ASSIGNMENT: &str = "conversation_assignment";
/// `conversation_mention`: the user (or their team) was mentioned in a private note.
pub const CONVERSATION_MENTION: &str = "conversation_mention";
/// `assigned_conversation_new_message`: a customer wrote in a conversation assigned to them.
pub const ASSIGNED_CONVERSATION_NEW_MESSAGE: &str = "assigned_conversation_new_message";
/// `participating_conversation_new_message`: a customer wrote in a conversation they take
/// part in.
pub const PARTICIPATING_CONVERSATION_NEW_MESSAGE: &str = "participating_conversation_new_message";

/// Realtime event: a notification was created. Payload: `user_id` (the only user whose SSE
/// connections receive it), `notification_id`, `notification_type`, `display_id`.
pub const NOTIFICATION_CREATED: &str = "notification.created";
/// Realtime event: the user's notifications were read, marked unread or deleted. Payload:
/// `user_id`, `notification_id` (null for "all read"), `unread_count`.
pub const NOTIFICATION_UPDATED: &str = "notification.updated";

/// Notifications per page of `GET …/notifications` (Chatwoot's `RESULTS_PER_PAGE`).
pub const PER_PAGE: i64 = 15;

/// Most mentions acted on in one note (more are ignored).
pub const MAX_MENTIONS: usize = 50;

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    created: i64,
}

/// Binds shared by every [`notify`] statement: `$1` conversation id, `$2` secondary actor
/// type, `$3` secondary actor id, `$4` email max attempts, `$5` whether the recipients become
/// participants. The `recipients` SQL (user_id bigint, t text) may use `c` (the conversation:
/// id, account_id, inbox_id, display_id, assignee_id) and binds from `$6`.
fn notify_sql(recipients: &str) -> String {
    format!(
        "WITH c AS (SELECT id, account_id, inbox_id, display_id, assignee_id FROM conversations \
           WHERE id = $1), \
         r AS ({recipients}), \
         ok AS (SELECT DISTINCT ON (r.user_id) r.user_id, r.t FROM r CROSS JOIN c \
           JOIN account_users au ON au.account_id = c.account_id AND au.user_id = r.user_id \
           WHERE au.role = 'administrator' OR EXISTS (SELECT 1 FROM inbox_members im \
             WHERE im.inbox_id = c.inbox_id AND im.user_id = r.user_id) \
           ORDER BY r.user_id), \
         p AS (INSERT INTO conversation_participants (account_id, conversation_id, user_id) \
           SELECT c.account_id, c.id, ok.user_id FROM ok CROSS JOIN c WHERE $5 \
           ON CONFLICT (conversation_id, user_id) DO NOTHING RETURNING 1), \
         n AS (INSERT INTO notifications (account_id, user_id, notification_type, \
             primary_actor_id, secondary_actor_type, secondary_actor_id) \
           SELECT c.account_id, ok.user_id, ok.t, c.id, $2, $3 FROM ok CROSS JOIN c \
           RETURNING id, user_id, notification_type), \
         e AS (INSERT INTO realtime_events (account_id, inbox_id, conversation_id, name, payload) \
           SELECT c.account_id, c.inbox_id, c.id, '{NOTIFICATION_CREATED}', \
             jsonb_build_object('user_id', n.user_id, 'notification_id', n.id, \
               'notification_type', n.notification_type, 'display_id', c.display_id) \
           FROM n CROSS JOIN c ORDER BY n.id RETURNING id), \
         j AS (INSERT INTO jobs (kind, payload, max_attempts) \
           SELECT '{kind}', jsonb_build_object('type', 'notification', 'user_id', n.user_id, \
             'notification_id', n.id), $4 \
           FROM n CROSS JOIN c LEFT JOIN notification_settings ns \
             ON ns.user_id = n.user_id AND ns.account_id = c.account_id \
           WHERE CASE n.notification_type \
             WHEN '{CONVERSATION_MENTION}' THEN COALESCE(ns.email_conversation_mention, TRUE) \
             WHEN '{ASSIGNED_CONVERSATION_NEW_MESSAGE}' \
               THEN COALESCE(ns.email_assigned_conversation_new_message, FALSE) \
             WHEN '{PARTICIPATING_CONVERSATION_NEW_MESSAGE}' \
               THEN COALESCE(ns.email_participating_conversation_new_message, FALSE) \
             ELSE FALSE END \
           RETURNING id) \
         SELECT (SELECT count(*) FROM n) AS created, (SELECT count(*) FROM e \
             CROSS JOIN LATERAL pg_notify('switchboard_events', e.id::text) AS x) AS announced, \
           (SELECT count(*) FROM j) AS emailed, (SELECT count(*) FROM p) AS joined",
        kind = email::EMAIL,
    )
}

/// Records that conversation `c` was assigned to `assignee_id` by `assigned_by` (`None`: the
/// system): one `conversation_assignment` notification, unless they assigned it to
/// themselves. Its email is the existing "assigned to you" email
/// (`notifications::conversation_assigned` queues it), not a second one. Returns how many
/// notifications were created (0 or 1).
pub fn conversation_assigned(
    conn: &mut PgConnection,
    conversation_id: i64,
    assignee_id: i64,
    assigned_by: Option<i64>,
) -> AppResult<usize> {
    if assigned_by == Some(assignee_id) {
        return Ok(0);
    }
    let row: Counts = diesel::sql_query(notify_sql(&format!(
        "SELECT $6::bigint AS user_id, '{CONVERSATION_ASSIGNMENT}'::text AS t"
    )))
    .bind::<BigInt, _>(conversation_id)
    .bind::<Nullable<Text>, _>(assigned_by.map(|_| "User"))
    .bind::<Nullable<BigInt>, _>(assigned_by)
    .bind::<Integer, _>(email::MAX_ATTEMPTS)
    .bind::<Bool, _>(false)
    .bind::<BigInt, _>(assignee_id)
    .get_result(conn)?;
    Ok(row.created as usize)
}

/// An SLA deadline of conversation `conversation_id` was missed: notifies `assignee_id`
/// (Chatwoot's `sla_missed_first_response`, `sla_missed_next_response` or
/// `sla_missed_resolution`, given as `notification_type`) if they may still see the inbox.
/// In-app only (no email). Returns how many notifications were created (0 or 1).
pub fn sla_missed(
    conn: &mut PgConnection,
    conversation_id: i64,
    assignee_id: i64,
    notification_type: &str,
) -> AppResult<usize> {
    let row: Counts = diesel::sql_query(notify_sql("SELECT $6::bigint AS user_id, $7::text AS t"))
        .bind::<BigInt, _>(conversation_id)
        .bind::<Nullable<Text>, _>(None::<String>)
        .bind::<Nullable<BigInt>, _>(None::<i64>)
        .bind::<Integer, _>(email::MAX_ATTEMPTS)
        .bind::<Bool, _>(false)
        .bind::<BigInt, _>(assignee_id)
        .bind::<Text, _>(notification_type)
        .get_result(conn)?;
    Ok(row.created as usize)
}

/// A new customer message `message_id` in conversation `conversation_id`: notifies its
/// assignee (`assigned_conversation_new_message`) and every other participant
/// (`participating_conversation_new_message`) who may still see the inbox, in ONE
/// set-based statement. The ingest worker calls it for each stored incoming message (not
/// for history imports), so it first asks, with one tiny indexed query, whether the
/// conversation has an assignee or a participant at all, and writes nothing otherwise (the
/// common case; the full statement costs several times more to plan). Returns how many
/// notifications were created.
pub fn customer_message(
    conn: &mut PgConnection,
    conversation_id: i64,
    message_id: i64,
) -> AppResult<usize> {
    #[derive(QueryableByName)]
    struct Anyone {
        #[diesel(sql_type = Bool)]
        anyone: bool,
    }
    let anyone: Anyone = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND assignee_id IS NOT NULL) \
           OR EXISTS (SELECT 1 FROM conversation_participants WHERE conversation_id = $1) \
           AS anyone",
    )
    .bind::<BigInt, _>(conversation_id)
    .prepared()
    .get_result(conn)?;
    if !anyone.anyone {
        return Ok(0);
    }
    notify_customer_message(conn, conversation_id, message_id)
}

/// The notifying statement of [`customer_message`], without its "anyone?" read.
fn notify_customer_message(
    conn: &mut PgConnection,
    conversation_id: i64,
    message_id: i64,
) -> AppResult<usize> {
    let row: Counts = diesel::sql_query(notify_sql(&format!(
        "SELECT c.assignee_id AS user_id, '{ASSIGNED_CONVERSATION_NEW_MESSAGE}'::text AS t \
           FROM c WHERE c.assignee_id IS NOT NULL \
         UNION ALL \
         SELECT cp.user_id, '{PARTICIPATING_CONVERSATION_NEW_MESSAGE}'::text FROM c \
           JOIN conversation_participants cp ON cp.conversation_id = c.id \
           WHERE cp.user_id IS DISTINCT FROM c.assignee_id"
    )))
    .bind::<BigInt, _>(conversation_id)
    .bind::<Nullable<Text>, _>(Some("Message"))
    .bind::<Nullable<BigInt>, _>(Some(message_id))
    .bind::<Integer, _>(email::MAX_ATTEMPTS)
    .bind::<Bool, _>(false)
    .get_result(conn)?;
    Ok(row.created as usize)
}

/// [`customer_message`] for each `(conversation_id, message_id)` of an ingest unit (issue
/// 15): ONE read finds the conversations with an assignee or a participant, and only those
/// messages take the notifying statement. Returns how many notifications were created.
/// Errors: database errors.
pub fn customer_messages(conn: &mut PgConnection, messages: &[(i64, i64)]) -> AppResult<usize> {
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = BigInt)]
        conversation_id: i64,
        #[diesel(sql_type = BigInt)]
        message_id: i64,
    }
    if messages.is_empty() {
        return Ok(0);
    }
    let (conversations, ids): (Vec<i64>, Vec<i64>) = messages.iter().copied().unzip();
    let hits: Vec<Hit> = diesel::sql_query(
        "SELECT v.conversation_id, v.message_id \
         FROM unnest($1::int8[], $2::int8[]) WITH ORDINALITY AS v(conversation_id, message_id, ord) \
         WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = v.conversation_id \
                       AND c.assignee_id IS NOT NULL) \
            OR EXISTS (SELECT 1 FROM conversation_participants p \
                       WHERE p.conversation_id = v.conversation_id) \
         ORDER BY v.ord",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(&conversations)
    .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
    .prepared()
    .load(conn)?;
    let mut created = 0;
    for h in hits {
        created += notify_customer_message(conn, h.conversation_id, h.message_id)?;
    }
    Ok(created)
}

/// After an agent (`sender_id`) stored `message` (a reply or a private note) in
/// `conversation`: the sender becomes a participant, and for a private note every agent it
/// mentions (and every member of a mentioned team) who may see the inbox, other than the
/// sender, gets a `conversation_mention` notification (and its email when their settings
/// allow) and becomes a participant. Ids of other accounts, or of agents who cannot see the
/// inbox, are ignored. Returns how many mention notifications were created.
pub fn agent_message(
    conn: &mut PgConnection,
    conversation: &Conversation,
    message: &Message,
    sender_id: i64,
) -> AppResult<usize> {
    add_participant_quietly(conn, conversation, sender_id)?;
    if !message.private {
        return Ok(0);
    }
    let mentions = parse_mentions(message.content.as_deref().unwrap_or(""));
    let (mut users, mut teams) = (vec![], vec![]);
    for m in mentions.iter().take(MAX_MENTIONS) {
        match m.target {
            MentionTarget::User(id) => users.push(id),
            MentionTarget::Team(id) => teams.push(id),
        }
    }
    if users.is_empty() && teams.is_empty() {
        return Ok(0);
    }
    let row: Counts = diesel::sql_query(notify_sql(&format!(
        "SELECT u.user_id, '{CONVERSATION_MENTION}'::text AS t FROM ( \
           SELECT unnest($6::bigint[]) AS user_id \
           UNION SELECT tm.user_id FROM team_members tm JOIN teams tt ON tt.id = tm.team_id \
             CROSS JOIN c WHERE tt.account_id = c.account_id AND tm.team_id = ANY($7::bigint[]) \
         ) u WHERE u.user_id <> $8"
    )))
    .bind::<BigInt, _>(conversation.id)
    .bind::<Nullable<Text>, _>(Some("Message"))
    .bind::<Nullable<BigInt>, _>(Some(message.id))
    .bind::<Integer, _>(email::MAX_ATTEMPTS)
    .bind::<Bool, _>(true)
    .bind::<Array<BigInt>, _>(&users)
    .bind::<Array<BigInt>, _>(&teams)
    .bind::<BigInt, _>(sender_id)
    .get_result(conn)?;
    Ok(row.created as usize)
}

fn add_participant_quietly(
    conn: &mut PgConnection,
    conversation: &Conversation,
    user_id: i64,
) -> AppResult<()> {
    diesel::sql_query(
        "INSERT INTO conversation_participants (account_id, conversation_id, user_id) \
         VALUES ($1, $2, $3) ON CONFLICT (conversation_id, user_id) DO NOTHING",
    )
    .bind::<BigInt, _>(conversation.account_id)
    .bind::<BigInt, _>(conversation.id)
    .bind::<BigInt, _>(user_id)
    .prepared()
    .execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------- mentions

/// Who a mention names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionTarget {
    /// `mention://user/ID/…`: a user id.
    User(i64),
    /// `mention://team/ID/…`: a team id.
    Team(i64),
}

/// One mention found in a note: where it is (byte range of the whole
/// `[@Name](mention://…)` markup), whom it names, and the text to show (`@Name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub target: MentionTarget,
    /// The link text, with a leading `@` (added when the markup lacks it).
    pub label: String,
}

/// Longest link text of a mention, in bytes.
const MAX_LABEL_BYTES: usize = 300;

/// Finds Chatwoot mention markup in `text`: `[LABEL](mention://user/ID/NAME)` or
/// `[LABEL](mention://team/ID/NAME)` where LABEL has no `]` or line break (at most 300 bytes),
/// ID is decimal digits, and NAME (URL-encoded) has no `)` or whitespace. Anything else,
/// including a malformed mention, stays plain text. In text order, non-overlapping.
pub fn parse_mentions(text: &str) -> Vec<Mention> {
    const MARK: &str = "](mention://";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find(MARK) {
        let close = from + rel;
        let next = close + MARK.len();
        // The label: back to the nearest '[' on the same line with no ']' in between.
        let open = text[from..close]
            .rfind(['[', ']', '\n', '\r'])
            .map(|i| from + i)
            .filter(|&i| text.as_bytes()[i] == b'[');
        let parsed = open.and_then(|open| {
            let label = &text[open + 1..close];
            if label.trim().is_empty() || label.len() > MAX_LABEL_BYTES {
                return None;
            }
            let rest = &text[next..];
            let (kind, rest) = if let Some(r) = rest.strip_prefix("user/") {
                ("user", r)
            } else if let Some(r) = rest.strip_prefix("team/") {
                ("team", r)
            } else {
                return None;
            };
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let id: i64 = rest[..digits].parse().ok()?;
            let rest = &rest[digits..];
            let rest = rest.strip_prefix('/').unwrap_or(rest);
            let end_rel = rest.find(|c: char| c == ')' || c.is_whitespace())?;
            if !rest[end_rel..].starts_with(')') {
                return None;
            }
            let end = text.len() - rest.len() + end_rel + 1;
            let label = label.trim();
            Some(Mention {
                start: open,
                end,
                target: if kind == "user" {
                    MentionTarget::User(id)
                } else {
                    MentionTarget::Team(id)
                },
                label: if label.starts_with('@') {
                    label.to_string()
                } else {
                    format!("@{label}")
                },
            })
        });
        match parsed {
            Some(m) => {
                from = m.end;
                out.push(m);
            }
            None => from = next,
        }
    }
    out
}

/// `text` with every mention replaced by its `@Name` label (for previews and emails).
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for m in parse_mentions(text) {
        out.push_str(&text[at..m.start]);
        out.push_str(&m.label);
        at = m.end;
    }
    out.push_str(&text[at..]);
    out
}

// ---------------------------------------------------------------- the bell's API

/// One notification with what the bell and the API show of it.
#[derive(Debug, Clone, QueryableByName)]
pub struct NotificationRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub account_id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    /// One of the `notification_type` constants above.
    #[diesel(sql_type = Text)]
    pub notification_type: String,
    /// `conversations.id`.
    #[diesel(sql_type = BigInt)]
    pub conversation_id: i64,
    /// The conversation's per-account number (the API's conversation `id`).
    #[diesel(sql_type = Integer)]
    pub display_id: i32,
    #[diesel(sql_type = BigInt)]
    pub inbox_id: i64,
    #[diesel(sql_type = Text)]
    pub conversation_status: String,
    /// The contact's name (or phone) as the inbox shows it.
    #[diesel(sql_type = Text)]
    pub contact_name: String,
    /// `User` or `Message` (or none, for a system assignment).
    #[diesel(sql_type = Nullable<Text>)]
    pub secondary_actor_type: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub secondary_actor_id: Option<i64>,
    /// Who caused it: the secondary user's name, or the agent who wrote the secondary
    /// message (none for a customer's message).
    #[diesel(sql_type = Nullable<Text>)]
    pub actor_name: Option<String>,
    /// The secondary message's content, when it is a message (mentions as `@Name`).
    #[diesel(sql_type = Nullable<Text>)]
    pub message_content: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub read_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

impl NotificationRow {
    /// Chatwoot's `push_message_title`, e.g. "A conversation (#12) has been assigned to you",
    /// "[#12] Ana: @Bo can you look?" or "New message in conversation #12: Hi".
    pub fn title(&self) -> String {
        let preview = |s: &str| {
            let s = plain_text(s).replace(['\r', '\n'], " ");
            let s = s.trim();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(79).collect::<String>())
            } else {
                s.to_string()
            }
        };
        let content = self.message_content.as_deref().map(preview);
        match self.notification_type.as_str() {
            CONVERSATION_ASSIGNMENT => format!(
                "A conversation (#{}) has been assigned to you",
                self.display_id
            ),
            CONVERSATION_MENTION => match &self.actor_name {
                Some(by) => format!("{by} mentioned you in conversation #{}", self.display_id),
                None => format!("You were mentioned in conversation #{}", self.display_id),
            },
            "sla_missed_first_response" => format!(
                "SLA missed: first response in conversation #{}",
                self.display_id
            ),
            "sla_missed_next_response" => format!(
                "SLA missed: next response in conversation #{}",
                self.display_id
            ),
            "sla_missed_resolution" => format!(
                "SLA missed: resolution of conversation #{}",
                self.display_id
            ),
            _ => match content.filter(|c| !c.is_empty()) {
                Some(c) => format!("New message in conversation #{}: {c}", self.display_id),
                None => format!("New message in conversation #{}", self.display_id),
            },
        }
    }
}

const ROW_SELECT: &str = "SELECT n.id, n.account_id, n.user_id, n.notification_type, \
       c.id AS conversation_id, c.display_id, c.inbox_id, c.status AS conversation_status, \
       COALESCE(NULLIF(ct.name, ''), ct.phone_number, ct.username, 'A contact') AS contact_name, \
       n.secondary_actor_type, n.secondary_actor_id, \
       CASE WHEN n.secondary_actor_type = 'User' THEN u.name ELSE mu.name END AS actor_name, \
       m.content AS message_content, \
       n.read_at, n.created_at \
     FROM notifications n JOIN conversations c ON c.id = n.primary_actor_id \
     JOIN contacts ct ON ct.id = c.contact_id \
     LEFT JOIN users u ON n.secondary_actor_type = 'User' AND u.id = n.secondary_actor_id \
     LEFT JOIN messages m ON n.secondary_actor_type = 'Message' AND m.id = n.secondary_actor_id \
     LEFT JOIN users mu ON m.sender_type = 'User' AND mu.id = m.sender_id";

/// A page of the viewer's notifications in the account, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub notifications: Vec<NotificationRow>,
    /// Unread notifications of the viewer in the account.
    pub unread_count: i64,
    /// All notifications of the viewer in the account.
    pub count: i64,
    /// 1-based.
    pub current_page: i64,
    /// The id to pass as `before` for the next (older) page when there is one (the bell's
    /// "Load more"): notifications page on `id`, unique and increasing with creation.
    pub next_before: Option<i64>,
}

#[derive(QueryableByName)]
struct Two {
    #[diesel(sql_type = BigInt)]
    unread: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Page `page` (1-based, [`PER_PAGE`] each) of the viewer's notifications, newest first, with
/// the unread and total counts (Chatwoot's `GET /notifications`).
pub fn list(conn: &mut PgConnection, viewer: &Viewer, page: i64) -> AppResult<Page> {
    list_page(conn, viewer, page, None)
}

/// The [`PER_PAGE`] notifications of the viewer older than notification `before` (by id,
/// unique and increasing with creation), newest first: a keyset page ("Load more" in the
/// bell) that neither skips nor repeats one when new notifications arrive meanwhile.
/// `current_page` is 0 (not an offset page).
pub fn list_before(conn: &mut PgConnection, viewer: &Viewer, before: i64) -> AppResult<Page> {
    list_page(conn, viewer, 0, Some(before))
}

fn list_page(
    conn: &mut PgConnection,
    viewer: &Viewer,
    page: i64,
    before: Option<i64>,
) -> AppResult<Page> {
    let page = if before.is_some() { 0 } else { page.max(1) };
    let counts: Two = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE read_at IS NULL) AS unread, count(*) AS total \
         FROM notifications WHERE user_id = $1 AND account_id = $2",
    )
    .bind::<BigInt, _>(viewer.user_id)
    .bind::<BigInt, _>(viewer.account_id)
    .prepared()
    .get_result(conn)?;
    // One more than a page tells whether an older page exists.
    let mut notifications: Vec<NotificationRow> = diesel::sql_query(format!(
        "{ROW_SELECT} WHERE n.user_id = $1 AND n.account_id = $2 AND n.id < $5 \
         ORDER BY n.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind::<BigInt, _>(viewer.user_id)
    .bind::<BigInt, _>(viewer.account_id)
    .bind::<BigInt, _>(PER_PAGE + 1)
    .bind::<BigInt, _>((page.max(1) - 1).saturating_mul(PER_PAGE))
    .bind::<BigInt, _>(before.unwrap_or(i64::MAX))
    .load(conn)?;
    let more = notifications.len() as i64 > PER_PAGE;
    notifications.truncate(PER_PAGE as usize);
    let next_before = more.then(|| notifications.last().map(|n| n.id)).flatten();
    Ok(Page {
        notifications,
        unread_count: counts.unread,
        count: counts.total,
        current_page: page,
        next_before,
    })
}

/// The viewer's unread notifications in the account (served by a partial index).
pub fn unread_count(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let one: One = diesel::sql_query(
        "SELECT count(*) AS n FROM notifications \
         WHERE user_id = $1 AND account_id = $2 AND read_at IS NULL",
    )
    .bind::<BigInt, _>(viewer.user_id)
    .bind::<BigInt, _>(viewer.account_id)
    .prepared()
    .get_result(conn)?;
    Ok(one.n)
}

/// The viewer's notification `id`. Errors: 404 when it is absent or anyone else's.
pub fn find(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<NotificationRow> {
    diesel::sql_query(format!(
        "{ROW_SELECT} WHERE n.id = $1 AND n.user_id = $2 AND n.account_id = $3"
    ))
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(viewer.user_id)
    .bind::<BigInt, _>(viewer.account_id)
    .get_result(conn)
    .optional()?
    .ok_or_else(|| AppError::NotFound(format!("notification {id} not found")))
}

/// Emits `notification.updated` for the viewer with their unread count after the change.
fn emit_updated(
    conn: &mut PgConnection,
    viewer: &Viewer,
    notification_id: Option<i64>,
) -> AppResult<i64> {
    let unread = unread_count(conn, viewer)?;
    super::events::emit(
        conn,
        viewer.account_id,
        None,
        None,
        NOTIFICATION_UPDATED,
        json!({
            "user_id": viewer.user_id,
            "notification_id": notification_id,
            "unread_count": unread,
        }),
    )?;
    Ok(unread)
}

/// Marks the viewer's notification `id` read (`read = true`, keeping an earlier `read_at`)
/// or unread, emitting `notification.updated`. Returns it after the change.
/// Errors: 404 as [`find`].
pub fn set_read(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    read: bool,
) -> AppResult<NotificationRow> {
    conn.transaction(|conn| {
        let changed = diesel::sql_query(
            "UPDATE notifications SET \
               read_at = CASE WHEN $4 THEN COALESCE(read_at, now()) ELSE NULL END, \
               updated_at = now() \
             WHERE id = $1 AND user_id = $2 AND account_id = $3",
        )
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(viewer.user_id)
        .bind::<BigInt, _>(viewer.account_id)
        .bind::<Bool, _>(read)
        .prepared()
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::NotFound(format!("notification {id} not found")));
        }
        emit_updated(conn, viewer, Some(id))?;
        find(conn, viewer, id)
    })
}

/// Marks every unread notification of the viewer in the account read, or with
/// `display_id` only those of that conversation (Chatwoot's `primary_actor_id`), emitting
/// `notification.updated`. Returns how many changed.
pub fn read_all(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: Option<i32>,
) -> AppResult<usize> {
    conn.transaction(|conn| {
        let changed = diesel::sql_query(
            "UPDATE notifications n SET read_at = now(), updated_at = now() \
             WHERE n.user_id = $1 AND n.account_id = $2 AND n.read_at IS NULL \
               AND ($3::int IS NULL OR n.primary_actor_id = \
                 (SELECT id FROM conversations WHERE account_id = $2 AND display_id = $3))",
        )
        .bind::<BigInt, _>(viewer.user_id)
        .bind::<BigInt, _>(viewer.account_id)
        .bind::<Nullable<Integer>, _>(display_id)
        .prepared()
        .execute(conn)?;
        if changed > 0 {
            emit_updated(conn, viewer, None)?;
        }
        Ok(changed)
    })
}

/// Deletes the viewer's notification `id`, emitting `notification.updated`.
/// Errors: 404 as [`find`].
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<()> {
    conn.transaction(|conn| {
        let gone = diesel::sql_query(
            "DELETE FROM notifications WHERE id = $1 AND user_id = $2 AND account_id = $3",
        )
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(viewer.user_id)
        .bind::<BigInt, _>(viewer.account_id)
        .prepared()
        .execute(conn)?;
        if gone == 0 {
            return Err(AppError::NotFound(format!("notification {id} not found")));
        }
        emit_updated(conn, viewer, Some(id))?;
        Ok(())
    })
}

// ---------------------------------------------------------------- participants

/// Users of the account who may see `inbox_id`: administrators and the inbox's members, by
/// name (who can be mentioned, or added as a participant). One query.
pub fn eligible_users(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<Vec<Member>> {
    let ids: Vec<i64> = crate::db::schema::inbox_members::table
        .filter(crate::db::schema::inbox_members::inbox_id.eq(inbox_id))
        .select(crate::db::schema::inbox_members::user_id)
        .load(conn)?;
    Ok(super::accounts::list_members(conn, account_id)?
        .into_iter()
        .filter(|m| m.role == Role::Administrator || ids.contains(&m.user.id))
        .collect())
}

#[derive(QueryableByName)]
struct Participant {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The conversation's participants who still belong to its account, as (user id, name) by
/// name, in one query.
pub fn participant_names(
    conn: &mut PgConnection,
    conversation: &Conversation,
) -> AppResult<Vec<(i64, String)>> {
    let rows: Vec<Participant> = diesel::sql_query(
        "SELECT u.id AS user_id, u.name FROM conversation_participants cp \
         JOIN users u ON u.id = cp.user_id \
         JOIN account_users au ON au.user_id = cp.user_id AND au.account_id = $2 \
         WHERE cp.conversation_id = $1 ORDER BY lower(u.name), u.id",
    )
    .bind::<BigInt, _>(conversation.id)
    .bind::<BigInt, _>(conversation.account_id)
    .prepared()
    .load(conn)?;
    Ok(rows.into_iter().map(|p| (p.user_id, p.name)).collect())
}

/// The conversation's participants as account members, by name.
pub fn participants(
    conn: &mut PgConnection,
    conversation: &Conversation,
) -> AppResult<Vec<Member>> {
    let ids: Vec<i64> = participant_names(conn, conversation)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(
        super::accounts::list_members(conn, conversation.account_id)?
            .into_iter()
            .filter(|m| ids.contains(&m.user.id))
            .collect(),
    )
}

/// How [`change_participants`] changes the list (Chatwoot's `POST`, `PATCH`, `DELETE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantChange {
    /// Adds the users, keeping the others.
    Add,
    /// The users become the only participants.
    Replace,
    /// Removes the users.
    Remove,
}

/// Changes the conversation's participants. Every id must be a user of the account who
/// may see the conversation's inbox (administrator or inbox member).
/// Returns the participants afterwards. Errors: 422 naming `user_ids`.
pub fn change_participants(
    conn: &mut PgConnection,
    conversation: &Conversation,
    user_ids: &[i64],
    change: ParticipantChange,
) -> AppResult<Vec<Member>> {
    let eligible: Vec<i64> = eligible_users(conn, conversation.account_id, conversation.inbox_id)?
        .into_iter()
        .map(|m| m.user.id)
        .collect();
    if change != ParticipantChange::Remove {
        let bad: Vec<String> = user_ids
            .iter()
            .filter(|id| !eligible.contains(id))
            .map(i64::to_string)
            .collect();
        if !bad.is_empty() {
            return Err(AppError::invalid(
                "user_ids",
                format!(
                    "no agent {} in this account who can see this conversation's inbox",
                    bad.join(", ")
                ),
            ));
        }
    }
    conn.transaction(|conn| {
        if change == ParticipantChange::Replace {
            diesel::sql_query(
                "DELETE FROM conversation_participants \
                 WHERE conversation_id = $1 AND NOT (user_id = ANY($2))",
            )
            .bind::<BigInt, _>(conversation.id)
            .bind::<Array<BigInt>, _>(user_ids)
            .prepared()
            .execute(conn)?;
        }
        if change == ParticipantChange::Remove {
            diesel::sql_query(
                "DELETE FROM conversation_participants \
                 WHERE conversation_id = $1 AND user_id = ANY($2)",
            )
            .bind::<BigInt, _>(conversation.id)
            .bind::<Array<BigInt>, _>(user_ids)
            .prepared()
            .execute(conn)?;
        } else {
            diesel::sql_query(
                "INSERT INTO conversation_participants (account_id, conversation_id, user_id) \
                 SELECT $1, $2, u FROM unnest($3::bigint[]) AS u \
                 ON CONFLICT (conversation_id, user_id) DO NOTHING",
            )
            .bind::<BigInt, _>(conversation.account_id)
            .bind::<BigInt, _>(conversation.id)
            .bind::<Array<BigInt>, _>(user_ids)
            .prepared()
            .execute(conn)?;
        }
        participants(conn, conversation)
    })
}

// ---------------------------------------------------------------- team members

/// The members of team `team_id` of the account, by name (Chatwoot's
/// `GET /teams/{id}/team_members`). Errors: 404 for another account's team.
pub fn team_members(
    conn: &mut PgConnection,
    account_id: i64,
    team_id: i64,
) -> AppResult<Vec<Member>> {
    super::teams::find(conn, account_id, team_id)?;
    let ids: Vec<i64> = crate::db::schema::team_members::table
        .filter(crate::db::schema::team_members::team_id.eq(team_id))
        .select(crate::db::schema::team_members::user_id)
        .load(conn)?;
    Ok(super::accounts::list_members(conn, account_id)?
        .into_iter()
        .filter(|m| ids.contains(&m.user.id))
        .collect())
}

/// Changes team `team_id`'s members (add, replace or remove, as for participants); every id
/// must be a user of the account. Returns the members afterwards.
/// Errors: 404 for another account's team; 422 naming `user_ids` ("User must exist").
pub fn change_team_members(
    conn: &mut PgConnection,
    account_id: i64,
    team_id: i64,
    user_ids: &[i64],
    change: ParticipantChange,
) -> AppResult<Vec<Member>> {
    super::teams::find(conn, account_id, team_id)?;
    let members: Vec<i64> = super::accounts::list_members(conn, account_id)?
        .into_iter()
        .map(|m| m.user.id)
        .collect();
    let bad: Vec<String> = user_ids
        .iter()
        .filter(|id| !members.contains(id))
        .map(i64::to_string)
        .collect();
    if !bad.is_empty() && change != ParticipantChange::Remove {
        return Err(AppError::invalid(
            "user_ids",
            format!(
                "User must exist: no agent {} in this account",
                bad.join(", ")
            ),
        ));
    }
    conn.transaction(|conn| {
        if change != ParticipantChange::Add {
            diesel::sql_query(
                "DELETE FROM team_members WHERE team_id = $1 \
                 AND (CASE WHEN $3 THEN NOT (user_id = ANY($2)) ELSE user_id = ANY($2) END)",
            )
            .bind::<BigInt, _>(team_id)
            .bind::<Array<BigInt>, _>(user_ids)
            .bind::<Bool, _>(change == ParticipantChange::Replace)
            .prepared()
            .execute(conn)?;
        }
        if change != ParticipantChange::Remove {
            diesel::sql_query(
                "INSERT INTO team_members (team_id, user_id) SELECT $1, u \
                 FROM unnest($2::bigint[]) AS u ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind::<BigInt, _>(team_id)
            .bind::<Array<BigInt>, _>(user_ids)
            .prepared()
            .execute(conn)?;
        }
        team_members(conn, account_id, team_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_and_malformed_ones_stay_text() {
        let t = "Hi [@Bo Agent](mention://user/12/Bo%20Agent), and [@Night shift](mention://team/3/Night%20shift)!";
        let ms = parse_mentions(t);
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].target, MentionTarget::User(12));
        assert_eq!(ms[0].label, "@Bo Agent");
        assert_eq!(
            &t[ms[0].start..ms[0].end],
            "[@Bo Agent](mention://user/12/Bo%20Agent)"
        );
        assert_eq!(ms[1].target, MentionTarget::Team(3));
        assert_eq!(plain_text(t), "Hi @Bo Agent, and @Night shift!");
        for bad in [
            "[@x](mention://user/abc/x)",
            "[@x](mention://robot/1/x)",
            "[@x](mention://user/1/x",
            "[](mention://user/1/x)",
            "[@a\nb](mention://user/1/x)",
            "@x](mention://user/1/x)",
        ] {
            assert!(parse_mentions(bad).is_empty(), "{bad}");
        }
        // A label without '@' gets one; the name part is optional.
        let ms = parse_mentions("[Ana](mention://user/7)");
        assert_eq!(ms[0].label, "@Ana");
        assert_eq!(ms[0].target, MentionTarget::User(7));
        // Multibyte text around mentions.
        assert_eq!(
            plain_text("שלום [@Ünal](mention://user/5/%C3%9Cnal) مرحبا"),
            "שלום @Ünal مرحبا"
        );
    }
}
