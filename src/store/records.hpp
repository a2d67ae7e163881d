#pragma once
// The records the store keeps. Free of any database type. Everything here is ciphertext
// or non-PHI metadata.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace store {

using TokenNonce = std::array<std::uint8_t, 16>;

struct FormVersion {
  std::string form_id;
  int version = 0;
  std::string declaration;      // the TOML text, as added
  bool enabled = true;          // per form id (all versions), set by `form disable`
  std::int64_t created_at = 0;  // unix seconds
  // Fingerprints of the staff keys granted this form (P4) when this version was made: they
  // are recipients too, besides the declaration's own. A grant makes a new version.
  std::vector<std::string> granted_recipients;
};

struct KeyRecord {
  std::string fingerprint;  // 40 upper-case hex
  std::string armored;      // public key only
  std::vector<std::string> user_ids;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::int64_t imported_at = 0;
};

// A recipient's X.509 certificate for S/MIME (`sealpost cert import`, issue 9). Public
// material only; checked at import and again at each send.
struct CertRecord {
  std::string sha256;               // 64 upper-case hex digits of the DER: the id
  std::string pem;                  // the certificate alone
  std::vector<std::string> emails;  // lower case, from SAN rfc822Name and subject
  std::string subject;              // RFC 2253, printable ASCII (for `cert list`)
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  bool pinned = false;   // imported with --pin: trusted without a chain to smime_ca_file
  bool aes_gcm = false;  // imported with --aes-gcm: AuthEnvelopedData (AES-256-GCM)
  std::int64_t imported_at = 0;
};

struct NewSubmission {
  std::string reference;  // unique, random, shown to the submitter
  std::string form_id;
  int form_version = 0;
  std::int64_t received_at = 0;  // unix seconds
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::string> recipients;  // fingerprints it was encrypted to
  TokenNonce token_nonce{};             // consumed in the same transaction (single use)
  std::int64_t token_expires_at = 0;    // after this the nonce record may be pruned
};

struct SubmissionMeta {
  std::int64_t seq = 0;  // store order; export --since uses it
  std::string reference;
  std::string form_id;
  int form_version = 0;
  std::int64_t received_at = 0;
  std::size_t size = 0;  // ciphertext bytes
  std::vector<std::string> recipients;
};

struct StoredSubmission {
  SubmissionMeta meta;
  std::vector<std::uint8_t> ciphertext;
};

// One audit trail entry as stored (mirrors audit::Entry; the store does not interpret it
// beyond keeping seq unique). Never PHI.
struct AuditRow {
  std::int64_t seq = 0;
  std::int64_t time = 0;
  std::string actor;
  std::string action;
  std::string object;
  std::string source;
  std::string outcome;
  std::string prev_hash;
  std::string hash;
};

// A signed audit checkpoint (mirrors audit::Checkpoint).
struct AuditCheckpointRow {
  std::int64_t count = 0;
  std::string head_hash;
  std::int64_t time = 0;
  std::string signature;
};

// --- Staff portal (issue 3). Users, enrolment links, recovery codes, sessions, grants. ---

// Roles (P4). A user holds a set of them.
enum class Role : unsigned { admin = 1, form_owner = 2, staff = 4, reviewer = 8, auditor = 16 };

enum class UserStatus { invited, active, disabled };

struct UserRecord {
  std::int64_t id = 0;
  std::string email;   // lower-case, unique
  unsigned roles = 0;  // bit set of Role
  UserStatus status = UserStatus::invited;
  std::optional<std::string> password_hash;  // libsodium Argon2id string
  // The TOTP secret, sealed by the portal (AEAD under a key file in the data dir); the
  // store never sees it in the clear. Empty: no TOTP enrolled. Pending during enrolment.
  std::vector<std::uint8_t> totp_sealed;
  bool totp_confirmed = false;
  std::int64_t totp_last_step = 0;                 // highest accepted time step (a code works once)
  std::optional<std::string> key_fingerprint;      // the user's own OpenPGP public key
  std::optional<std::string> private_key_armored;  // passphrase-encrypted in the browser
  std::int64_t created_at = 0;
};

struct SessionRecord {
  std::string id_hash;  // SHA-256 of the cookie value, hex; the value itself is never stored
  std::int64_t user_id = 0;
  // "enrolling" (after an enrolment link), "second_factor" (password checked, code due),
  // "full" (signed in).
  std::string stage;
  std::string csrf_token;  // random, base64url; sent back in X-CSRF-Token
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::string source;  // the address that created it
};

struct GrantRecord {
  std::int64_t user_id = 0;
  std::string form_id;
  std::int64_t granted_at = 0;
  std::int64_t granted_by = 0;  // user id, 0 for the CLI
};

// Metadata search for the portal's submission list (P6). All bounds optional.
struct SubmissionQuery {
  std::string form_id;
  std::optional<std::int64_t> received_from;  // unix seconds, inclusive
  std::optional<std::int64_t> received_to;    // unix seconds, exclusive
  std::optional<std::string> reference;       // exact reference
  std::int64_t after_seq = 0;                 // paging: seq strictly greater
  std::size_t limit = 100;
};

// A blocked network (F10): requests from it are refused with 403 on every node.
struct BlockRecord {
  std::string cidr;    // canonical text (http::Cidr::to_string): one spelling per network
  std::string reason;  // administrator's words or the automatic rule's name; never PHI
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;  // unix seconds; nullopt: until removed
  std::string created_by;                  // "cli" or "auto"
};

// A shared failure count of the portal's lockout (P3).
struct FailureCount {
  std::int64_t failures = 0;
  std::int64_t last_failure = 0;  // unix seconds
};

// Events of one key counted in fixed windows (RateLimitStore::count_event_blocking): the
// current window's count and the one before's, for a sliding-window estimate.
struct EventCount {
  std::int64_t window_start = 0;  // unix seconds, a multiple of the window
  std::int64_t count = 0;         // in the window starting at window_start, this event included
  std::int64_t previous = 0;      // in the window just before it
};

// --- the outbound mail queue (issue 8) ------------------------------------------------------

// Where one recipient of a queued message stands. queued and deferred are due for an
// attempt (at next_attempt_at); the others are final, except awaiting_fallback, which waits
// for message-level encryption (policy `forced` when TLS was not possible).
enum class MailState { queued, deferred, delivered, bounced, dropped, awaiting_fallback };
std::string_view mail_state_name(MailState state);
std::optional<MailState> parse_mail_state(std::string_view text);
inline bool mail_state_final(MailState s) {
  return s == MailState::delivered || s == MailState::bounced || s == MailState::dropped;
}

// A message as the queue keeps it. The body is the whole RFC 5322 message (built and
// DKIM-signed at enqueue) sealed under the queue key (secrets/queue.key): the database
// never holds a cleartext body.
struct MailMessageRecord {
  std::string id;  // public message id (random; also the Message-ID's local part)
  std::int64_t created_at = 0;
  std::string sender;     // envelope MAIL FROM; empty for a bounce (DSN)
  std::string security;   // the policy asked for this message: none|opportunistic|verify|...
  bool phi = false;       // marked as carrying PHI (policy `none` is refused for it)
  std::string origin;     // who queued it: "cli:<user>", "api:<key name>", "notify", "dsn"
  std::int64_t size = 0;  // bytes of the cleartext message
  // Message-level encryption (issue 9), the same for every recipient: "pgp-mime",
  // "smime-aes-256-cbc", "smime-aes-256-gcm"; "" when the content is not sealed.
  std::string sealed;
  std::vector<std::uint8_t> body;  // sealed; empty when listed without bodies
};

// How one attempt for one recipient went: enough for `mail show`, the API, TLS-RPT and
// the audit trail (never a body).
struct MailAttempt {
  std::string message_id;
  int idx = 0;  // the recipient's position in the message
  std::int64_t at = 0;
  MailState result = MailState::deferred;  // the recipient's state after this attempt
  int code = 0;          // the remote's reply code, or 0 when no reply (DNS, connect)
  std::string enhanced;  // e.g. "4.7.5"
  std::string reply;     // the remote's reply or our reason, bounded and sanitised
  std::string mx_host;   // the MX host spoken to (empty: none reached)
  std::string ip;
  std::string tls_version;  // "TLSv1.3", or empty for cleartext
  std::string tls_cipher;
  std::string verified;  // how the certificate was verified: dane|mta-sts|ca|none
  std::string policy;    // the effective policy applied (after DANE/MTA-STS raised it)
  // MTA-STS (RFC 8461) as it applied to this attempt, for `mail show` and TLS-RPT (RFC
  // 8460): the policy's mode ("enforce", "testing"; empty: no MTA-STS policy applied), its
  // id (or the TXT record's id when the policy could not be fetched), and what failed as an
  // RFC 8460 result type ("certificate-host-mismatch", "sts-policy-fetch-error", ...;
  // empty: nothing).
  std::string sts_mode;
  std::string sts_id;
  std::string tls_failure;
};

// One recipient and where it stands (with its last attempt, if any).
struct MailRecipientRecord {
  std::string message_id;
  int idx = 0;
  std::string address;
  std::string domain;  // lowercase: the unit of policy and of MX lookup
  MailState state = MailState::queued;
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::int64_t updated_at = 0;
  std::optional<MailAttempt> last;
};

// A recipient claimed for an attempt: the lease is `owner`'s until `lease_until`; another
// node may claim it again only after that (a crash after the remote's 250 re-sends at most
// what was leased).
struct ClaimedRecipient {
  std::string message_id;
  int idx = 0;
  std::string address;
  std::string domain;
  int attempts = 0;
  std::int64_t created_at = 0;  // the message's
};

// TLS-RPT (RFC 8460): how many TLS sessions to a policy domain on a UTC day had one
// outcome. `policy_text` and `mx_patterns` are newline-joined lines; `result_type` is
// empty for a success.
struct TlsSessionCount {
  std::int64_t day = 0;  // unix seconds of the day's 00:00 UTC
  std::string policy_domain;
  std::string policy_type;  // tlsa | sts | no-policy-found
  std::string policy_text;
  std::string mx_patterns;
  std::string result_type;
  std::string mx_host;
  std::string ip;
  std::int64_t count = 0;
};

// A recipient domain's MTA-STS policy as last fetched (RFC 8461 §5.1: cached until
// expires_at, replaced when the TXT record's id changes and a new policy is fetched).
struct MtaStsRecord {
  std::string domain;           // lower case
  std::string policy_id;        // the id of the TXT record the policy was fetched for
  std::string mode;             // enforce|testing|none
  std::vector<std::string> mx;  // the policy's mx patterns, in its order
  std::int64_t max_age = 0;
  std::int64_t fetched_at = 0;
  std::int64_t expires_at = 0;  // fetched_at + max_age
  friend bool operator==(const MtaStsRecord&, const MtaStsRecord&) = default;
};

// `mail queue`: recipients by domain and state.
struct MailQueueRow {
  std::string domain;
  MailState state = MailState::queued;
  std::int64_t count = 0;
  std::int64_t oldest = 0;  // created_at of the oldest message among them
};

// An API key (`sealpost apikey add`): a public id, the SHA-256 of the whole key (never the
// key itself), what it may do, and its life. Never PHI.
struct ApiKeyRecord {
  std::string id;                   // public: logged, audited ("api:<id>"), shown by `apikey list`
  std::string name;                 // the operator's label for it
  std::string secret_hash;          // lower-case hex SHA-256 of the key text
  std::vector<std::string> scopes;  // "messages:send", "messages:read"
  std::int64_t created_at = 0;
  std::string created_by;  // the CLI actor that added it
  std::optional<std::int64_t> revoked_at;
  std::optional<std::int64_t> last_used_at;  // at most a minute stale (see mail::api)
};

// An event for the webhooks (WebhookStore::enqueue_event_blocking): its id, type and JSON
// body, built by webhooks/event.hpp.
struct WebhookEvent {
  std::string id;
  std::string type;
  std::string payload;
};

// A contact of the campaigns (issue 11, C1): whom a campaign or an event message may go
// to. The address is in clear (it is the delivery address, as in the mail queue); every
// other field is a ContactField, sealed by the campaigns module.
struct ContactRecord {
  std::string id;       // random, 32 hex
  std::string address;  // lower case, the key
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::string source;  // how it came: "import:<sha256 prefix>", "api:<key id>", "form:<id>/<ref>"
};

// One field of a contact (its name, its attributes): AES-256-GCM under secrets/contacts.key,
// the address and the field's name as additional data (IV || ciphertext || tag).
struct ContactField {
  std::string name;
  std::vector<std::uint8_t> sealed;
};

// A contact of a CSV import, staged (invisible to everything else) until the import applies.
struct StagedContact {
  std::string id;  // used when the address is new
  std::string address;
  std::vector<ContactField> fields;
};

// What a contact authorised (C1): for one purpose, from when, how, in which scope, until
// when; revoked_at once withdrawn (and by which way: cli, api, portal, unsubscribe).
struct AuthorisationRecord {
  std::string id;
  std::string contact_id;
  std::string purpose;
  std::int64_t granted_at = 0;
  std::optional<std::int64_t> expires_at;
  std::string scope;            // e.g. "email"
  std::string evidence;         // how it was given: "form:<id>/<ref>", "import:<sha256 prefix>"
  std::string consent_version;  // the consent text's version the contact agreed to
  std::optional<std::int64_t> revoked_at;
  std::string revoked_via;
};

// An authorisation granted to every contact of an import.
struct ImportGrant {
  std::string purpose;
  std::string scope;
  std::string evidence;
  std::string consent_version;
  std::int64_t granted_at = 0;
  std::optional<std::int64_t> expires_at;
};

struct ImportCounts {
  std::size_t added = 0;    // new contacts
  std::size_t updated = 0;  // existing addresses whose fields the import replaced
  std::size_t granted = 0;  // authorisations added
};

// Contacts by purpose: how many hold an authorisation in force (neither revoked nor expired).
struct PurposeCount {
  std::string purpose;
  std::int64_t authorised = 0;
  std::int64_t revoked = 0;
};

// A campaign (issue 11, C2-C6): what is sent, to whom, and where it stands. The approval
// holds while approved_hash equals content_hash (campaigns/campaign.hpp computes both).
struct CampaignRecord {
  std::string id;  // random, 32 hex
  std::string name;
  std::string purpose;
  std::string sender;                // the From address
  std::string policy = "exclusive";  // mail::policy name
  std::vector<std::string> fields;   // the declared merge and segment fields
  std::string segment;               // campaigns/segment.hpp
  std::string subject;               // template
  std::string body;                  // template (text)
  std::optional<std::int64_t> scheduled_at;
  std::int64_t per_minute = 600;  // messages queued per minute, at most
  std::string author;             // the portal user who wrote it (email)
  std::string state = "draft";    // draft, sending, paused, sent, cancelled
  std::string content_hash;
  std::optional<std::string> approved_hash;
  std::optional<std::string> approver;
  std::optional<std::int64_t> approved_at;
  std::string cursor;  // the last contact id done
  std::optional<std::string> lease_owner;
  std::optional<std::int64_t> lease_until;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> finished_at;
};

// What a campaign did for one contact.
struct CampaignSend {
  std::string campaign_id;
  std::string contact_id;
  // queued, withdrawn, or the suppression's reason: no_authorisation, revoked, expired,
  // unsubscribed, bounced_before.
  std::string outcome;
  std::optional<std::string> message_id;
  std::int64_t at = 0;
};

// A campaign's progress: contacts per outcome, and its queued messages per delivery state.
struct CampaignProgress {
  std::vector<std::pair<std::string, std::int64_t>> outcomes;    // outcome, contacts
  std::vector<std::pair<std::string, std::int64_t>> deliveries;  // mail recipient state, count
};

// A webhook endpoint of an integrator (`sealpost webhook add`).
struct WebhookRecord {
  std::string id;                           // public: shown by `webhook list`, audited
  std::string name;                         // the operator's label
  std::string url;                          // https only, checked by the CLI before it is stored
  std::vector<std::string> events;          // event types it takes ("submission.received", ...)
  std::vector<std::uint8_t> sealed_secret;  // the signing secret sealed under queue.key
  std::int64_t created_at = 0;
  std::string created_by;
  std::optional<std::int64_t> removed_at;
};

enum class WebhookDeliveryState { pending, delivered, failed, cancelled };
std::string_view webhook_delivery_state_name(WebhookDeliveryState state);

// One delivery of one event to one webhook.
struct WebhookDeliveryRecord {
  std::string event_id;  // the webhook-id header: the same on every retry
  std::string webhook_id;
  std::string type;
  std::string payload;  // the JSON body as signed and sent (ids and metadata only)
  std::int64_t created_at = 0;
  WebhookDeliveryState state = WebhookDeliveryState::pending;
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> last_status;  // the last HTTP status, if one came back
  std::string last_error;                   // words, never a response body
  std::int64_t updated_at = 0;
};

// A delivery leased to a node, with what it needs to send it.
struct ClaimedWebhookDelivery {
  WebhookDeliveryRecord delivery;
  std::string url;
  std::vector<std::uint8_t> sealed_secret;
};

// Per webhook: how many deliveries are in each state, and the last failure.
struct WebhookSummary {
  std::string webhook_id;
  std::int64_t pending = 0;
  std::int64_t delivered = 0;
  std::int64_t failed = 0;
};

// A keyless recipient's copy of a `security = encrypt` message in the secure-message portal
// (issue 9). The content is AES-256-GCM ciphertext under a key the server does not keep.
struct SecureMessageRecord {
  std::string id;                        // random, base64url: the link's path (/s/<id>)
  std::string message_id;                // the queue id the sender was given
  std::string recipient;                 // the address the notice and the codes go to
  std::string sender;                    // the From address
  std::vector<std::uint8_t> ciphertext;  // IV (12) || ciphertext || tag (16)
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::optional<std::int64_t> first_read_at;
  std::optional<std::string> code_hash;  // SHA-256 hex of the pending one-time code
  std::optional<std::int64_t> code_expires_at;
  std::int64_t replies = 0;  // secure replies sent from this copy
};

// The account a portal recipient creates when they open their first copy (issue 9): from
// the second message to the same address on, the one-time code alone does not open it.
struct RecipientAccountRecord {
  std::string address;                    // lower case
  std::string password_hash;              // Argon2id (auth/password.hpp)
  std::vector<std::uint8_t> totp_sealed;  // empty: no TOTP (crypto/seal.hpp under the portal key)
  bool totp_confirmed = false;
  std::int64_t totp_last_step = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct AuditQuery {
  std::optional<std::string> actor;
  std::optional<std::string> action;  // exact, or a prefix ending in '.' ("user.")
  std::optional<std::string> object;  // exact
  std::optional<std::int64_t> time_from;
  std::optional<std::int64_t> time_to;
  std::int64_t after_seq = 0;
  std::size_t limit = 100;
};

}  // namespace store
