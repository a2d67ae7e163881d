// sealpost: one binary, one subcommand per job (O2).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/apikey_commands.hpp"
#include "app/campaign_commands.hpp"
#include "app/cert_commands.hpp"
#include "app/commands.hpp"
#include "app/contact_commands.hpp"
#include "app/mail_commands.hpp"
#include "app/webhook_commands.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"sealpost: secure web forms, encrypted on receipt to your staff's OpenPGP keys"};
  cli.require_subcommand(1);
  std::string data;
  auto add_data = [&data](CLI::App* sub) {
    sub->add_option("--data", data, "Data directory")->required();
  };

  std::string hostname = "localhost";
  auto* init = cli.add_subcommand("init", "Create a data directory (config, TLS, keys, database)");
  add_data(init);
  init->add_option("--hostname", hostname, "Host name for the self-signed TLS certificate");
  std::string database, database_password_file;
  init->add_option("--database", database,
                   "PostgreSQL libpq URI (postgresql://user@host:5432/db); default: SQLite in DIR");
  init->add_option(
      "--database-password-file", database_password_file,
      "File holding the PostgreSQL password (copied to DIR/secrets/database-password)");

  auto* migrate = cli.add_subcommand("migrate",
                                     "Copy an SQLite installation into an empty PostgreSQL, prove "
                                     "the copy, then switch the configuration to it");
  add_data(migrate);
  std::string migrate_to;
  migrate->add_option("--to", migrate_to, "PostgreSQL libpq URI of an empty database")->required();
  migrate->add_option("--database-password-file", database_password_file,
                      "File holding the PostgreSQL password (copied to "
                      "DIR/secrets/database-password once the copy is proven)");

  auto* key = cli.add_subcommand("key", "Manage recipient OpenPGP public keys");
  key->require_subcommand(1);
  std::string key_file;
  auto* key_import = key->add_subcommand("import", "Import OpenPGP public keys from a file");
  add_data(key_import);
  key_import->add_option("FILE", key_file, "Armored or binary public key file")->required();
  auto* key_list = key->add_subcommand("list", "List imported keys");
  add_data(key_list);

  auto* form = cli.add_subcommand("form", "Manage form declarations");
  form->require_subcommand(1);
  std::string form_file, form_id;
  auto* form_add = form->add_subcommand("add", "Add a form, or a new version of it");
  add_data(form_add);
  form_add->add_option("FILE", form_file, "Form declaration (TOML)")->required();
  auto* form_list = form->add_subcommand("list", "List forms");
  add_data(form_list);
  auto* form_show = form->add_subcommand("show", "Print a form's latest declaration");
  add_data(form_show);
  form_show->add_option("ID", form_id, "Form id")->required();
  auto* form_disable = form->add_subcommand("disable", "Stop a form taking submissions");
  add_data(form_disable);
  form_disable->add_option("ID", form_id, "Form id")->required();

  auto* serve = cli.add_subcommand("serve", "Serve the forms over HTTPS");
  add_data(serve);
  std::optional<std::string> https_listen, http_listen;
  serve->add_option("--https-listen", https_listen, "ADDR:PORT for HTTPS (port 0: any free)");
  serve->add_option("--http-listen", http_listen,
                    "ADDR:PORT for the redirect-only HTTP listener (\"\" disables it)");
  std::optional<std::string> admin_listen;
  serve->add_option("--admin-listen", admin_listen,
                    "ADDR:PORT for /healthz, /readyz and /metrics (\"\" disables it)");
  std::optional<std::string> submission_listen, submissions_listen;
  serve->add_option("--submission-listen", submission_listen,
                    "ADDR:PORT for SMTP submission with STARTTLS, 587-style (\"\" disables it)");
  serve->add_option(
      "--submissions-listen", submissions_listen,
      "ADDR:PORT for SMTP submission over implicit TLS, 465-style (\"\" disables it)");

  auto* exp = cli.add_subcommand("export", "Write each submission of a form as a .pgp file");
  add_data(exp);
  std::string out;
  std::optional<std::string> since;
  exp->add_option("--form", form_id, "Form id")->required();
  exp->add_option("--out", out, "Output directory")->required();
  exp->add_option("--since", since, "Only submissions after this reference number");

  auto* audit = cli.add_subcommand("audit", "Check or export the tamper-evident audit trail");
  audit->require_subcommand(1);
  auto* audit_verify =
      audit->add_subcommand("verify", "Check the hash chain and its signed checkpoints");
  add_data(audit_verify);
  std::vector<std::string> audit_checkpoints;
  audit_verify->add_option("--checkpoint", audit_checkpoints,
                           "A file of checkpoint lines saved earlier (from a node's "
                           "audit-checkpoints.log); may be repeated");
  auto* audit_export = audit->add_subcommand("export", "Write the audit trail as JSON lines");
  add_data(audit_export);
  std::optional<std::string> audit_out;
  audit_export->add_option("--out", audit_out, "Output file (default: standard output)");

  auto* user = cli.add_subcommand("user", "Manage staff portal accounts");
  user->require_subcommand(1);
  std::string email;
  std::vector<std::string> roles;
  auto* user_add = user->add_subcommand("add", "Add a user and print their enrolment link");
  add_data(user_add);
  user_add->add_option("--email", email, "E-mail address (the sign-in name)")->required();
  user_add->add_option("--role", roles, "admin, form_owner, staff, reviewer or auditor (repeat)")
      ->required();
  auto* user_link = user->add_subcommand("link", "Print a new enrolment link for a user");
  add_data(user_link);
  user_link->add_option("--email", email, "E-mail address")->required();
  auto* user_list = user->add_subcommand("list", "List users, roles and granted forms");
  add_data(user_list);

  auto* block = cli.add_subcommand("block", "Refuse requests from an address or a network (F10)");
  block->require_subcommand(1);
  std::string cidr, block_reason;
  std::optional<std::string> block_until;
  auto* block_add = block->add_subcommand("add", "Block an address or a network on every node");
  add_data(block_add);
  block_add->add_option("CIDR", cidr, "An address or a network (192.0.2.0/24, 2001:db8::/32)")
      ->required();
  block_add->add_option("--until", block_until,
                        "A duration (30m, 2h, 7d) or a UTC time (2026-12-31T18:00:00Z); "
                        "default: until removed");
  block_add->add_option("--reason", block_reason, "A note for `block list` (one line)");
  auto* block_list = block->add_subcommand("list", "List blocks, expired ones included");
  add_data(block_list);
  auto* block_remove = block->add_subcommand("remove", "Lift a block");
  add_data(block_remove);
  block_remove->add_option("CIDR", cidr, "The network as blocked")->required();

  auto* dkim = cli.add_subcommand("dkim", "DKIM signing keys for outbound mail");
  dkim->require_subcommand(1);
  std::string dkim_domain, dkim_selector, dkim_algorithm = "ed25519";
  auto* dkim_init = dkim->add_subcommand(
      "init", "Create the signing key(s) under secrets/ and print the DNS records to publish");
  add_data(dkim_init);
  dkim_init->add_option("--domain", dkim_domain, "The signing domain (d=)")->required();
  dkim_init->add_option("--selector", dkim_selector, "The selector (s=)")->required();
  dkim_init->add_option("--algorithm", dkim_algorithm,
                        "ed25519 (with an RSA companion, RFC 8463) or rsa");

  auto* mail = cli.add_subcommand("mail", "Send mail and read the outbound queue");
  mail->require_subcommand(1);
  app::SendRequest send;
  auto* mail_send = mail->add_subcommand(
      "send", "Queue a message durably and print its id (a running serve delivers it)");
  add_data(mail_send);
  mail_send->add_option("--from", send.from, "Sender address (default: [mail] default_sender)");
  mail_send->add_option("--to", send.to, "Recipient address (repeat for several)")->required();
  mail_send->add_option("--subject", send.subject, "Subject (one line)")->required();
  mail_send->add_option("--body-file", send.body_file, "File holding the text body (UTF-8)")
      ->required();
  mail_send->add_option("--security", send.security,
                        "none, opportunistic, verify, exclusive or forced "
                        "(default: [mail] default_policy), or encrypt (PGP/MIME or S/MIME to "
                        "each recipient's imported key or certificate, over TLS when offered; the "
                        "secure-message portal for the others when [server] public_origin is "
                        "set)");
  mail_send->add_flag("--phi", send.phi, "The message carries PHI (policy none is refused)");
  std::string message_id;
  auto* mail_show = mail->add_subcommand("show", "A message and each recipient's state");
  add_data(mail_show);
  mail_show->add_option("ID", message_id, "The id `mail send` printed")->required();
  auto* mail_cancel =
      mail->add_subcommand("cancel", "Stop sending a message to its waiting recipients");
  add_data(mail_cancel);
  mail_cancel->add_option("ID", message_id, "The id `mail send` printed")->required();
  auto* mail_revoke = mail->add_subcommand(
      "revoke", "Withdraw a message's unread secure-message portal copies (its links answer 410)");
  add_data(mail_revoke);
  mail_revoke->add_option("ID", message_id, "The id `mail send` printed")->required();
  std::string recipient_email;
  auto* mail_reset_recipient = mail->add_subcommand(
      "reset-recipient",
      "Forget a secure-message recipient's account (password, authenticator); the next message "
      "they open asks for a new password");
  add_data(mail_reset_recipient);
  mail_reset_recipient->add_option("--email", recipient_email, "The recipient's address")
      ->required();
  auto* mail_prune = mail->add_subcommand(
      "prune", "Erase the content of expired and revoked portal copies now (serve: hourly)");
  add_data(mail_prune);
  std::string report_day;
  auto* mail_tls_report =
      mail->add_subcommand("tls-report", "Send the day's TLS reports (RFC 8460) now");
  add_data(mail_tls_report);
  mail_tls_report->add_option("--day", report_day,
                              "YYYY-MM-DD (UTC), today or yesterday (default: yesterday)");
  auto* mail_queue = mail->add_subcommand("queue", "The queue by domain and state");
  add_data(mail_queue);
  auto* mail_check_dns = mail->add_subcommand(
      "check-dns", "Check the sending domain's SPF, DKIM and DMARC records (M7)");
  add_data(mail_check_dns);

  auto* cert = cli.add_subcommand("cert", "Recipients' X.509 certificates for S/MIME");
  cert->require_subcommand(1);
  std::string cert_file, cert_id;
  bool cert_pin = false, cert_gcm = false;
  auto* cert_import =
      cert->add_subcommand("import", "Check and import a recipient certificate (PEM or DER)");
  add_data(cert_import);
  cert_import->add_option("FILE", cert_file, "The certificate file")->required();
  cert_import->add_flag("--pin", cert_pin,
                        "Trust this exact certificate without a chain to [mail] smime_ca_file");
  cert_import->add_flag("--aes-gcm", cert_gcm,
                        "The recipient reads AuthEnvelopedData: use AES-256-GCM (else CBC)");
  auto* cert_list = cert->add_subcommand("list", "List imported certificates");
  add_data(cert_list);
  auto* cert_remove = cert->add_subcommand("remove", "Remove a certificate");
  add_data(cert_remove);
  cert_remove->add_option("SHA256", cert_id, "The certificate's id (cert list)")->required();

  auto* apikey = cli.add_subcommand("apikey", "Keys of the HTTP messages API");
  apikey->require_subcommand(1);
  std::string apikey_name, apikey_id;
  std::vector<std::string> apikey_scopes;
  auto* apikey_add = apikey->add_subcommand(
      "add", "Create a key and print it once (the server keeps only its hash)");
  add_data(apikey_add);
  apikey_add->add_option("--name", apikey_name, "A label for the key (who or what uses it)")
      ->required();
  apikey_add
      ->add_option("--scope", apikey_scopes, "messages:send or messages:read (repeat for both)")
      ->required();
  auto* apikey_list = apikey->add_subcommand("list", "List keys (never their secrets)");
  add_data(apikey_list);
  auto* apikey_revoke = apikey->add_subcommand("revoke", "Revoke a key at once, on every node");
  add_data(apikey_revoke);
  apikey_revoke->add_option("ID", apikey_id, "The key's id (apikey list)")->required();

  auto* contact = cli.add_subcommand("contact", "Contacts and their authorisations (campaigns)");
  contact->require_subcommand(1);
  std::string contact_file, contact_email, contact_purpose;
  app::ContactGrantOptions contact_grant;
  auto* contact_import = contact->add_subcommand(
      "import", "Import contacts from CSV (an email column, others become fields); all or nothing");
  add_data(contact_import);
  contact_import->add_option("FILE", contact_file, "The CSV file (UTF-8, header row)")->required();
  contact_import->add_option("--purpose", contact_grant.purpose,
                             "Grant this purpose to every contact of the file");
  contact_import->add_option("--consent-version", contact_grant.consent_version,
                             "The version of the consent text they agreed to (with --purpose)");
  contact_import->add_option("--scope", contact_grant.scope, "The scope granted (default email)");
  contact_import->add_option("--granted-on", contact_grant.granted_on,
                             "YYYY-MM-DD (UTC) the consent was given (default: now)");
  contact_import->add_option("--expires-on", contact_grant.expires_on,
                             "YYYY-MM-DD (UTC) the consent ends (default: until revoked)");
  contact_import->add_option("--evidence", contact_grant.evidence,
                             "How the consent was given, e.g. \"paper form 2026\"");
  auto* contact_list = contact->add_subcommand("list", "How many contacts, per purpose");
  add_data(contact_list);
  auto* contact_show =
      contact->add_subcommand("show", "One contact: its field names and authorisations");
  add_data(contact_show);
  contact_show->add_option("--email", contact_email, "The contact's address")->required();
  auto* contact_revoke =
      contact->add_subcommand("revoke", "Revoke a contact's authorisation for a purpose, at once");
  add_data(contact_revoke);
  contact_revoke->add_option("--email", contact_email, "The contact's address")->required();
  contact_revoke->add_option("--purpose", contact_purpose, "The purpose")->required();
  auto* campaign = cli.add_subcommand(
      "campaign", "Campaigns: where they stand, and a brake (they are written in the portal)");
  campaign->require_subcommand(1);
  std::string campaign_id;
  auto* campaign_list = campaign->add_subcommand("list", "Every campaign, newest first");
  add_data(campaign_list);
  auto* campaign_status =
      campaign->add_subcommand("status", "One campaign: approval, outcomes, deliveries, rate");
  add_data(campaign_status);
  campaign_status->add_option("ID", campaign_id, "The campaign's id")->required();
  auto* campaign_pause = campaign->add_subcommand("pause", "Pause a sending campaign");
  add_data(campaign_pause);
  campaign_pause->add_option("ID", campaign_id, "The campaign's id")->required();
  auto* campaign_cancel =
      campaign->add_subcommand("cancel", "Cancel a campaign that has not ended");
  add_data(campaign_cancel);
  campaign_cancel->add_option("ID", campaign_id, "The campaign's id")->required();
  auto* webhook = cli.add_subcommand("webhook", "Webhooks for integrators (signed event POSTs)");
  webhook->require_subcommand(1);
  std::string webhook_url, webhook_events, webhook_name, webhook_id;
  auto* webhook_add =
      webhook->add_subcommand("add", "Add an https endpoint; prints its id and secret once");
  add_data(webhook_add);
  webhook_add->add_option("--url", webhook_url, "The endpoint (https only)")->required();
  webhook_add
      ->add_option("--events", webhook_events,
                   "Comma-separated: submission.received, message.delivered, message.bounced, "
                   "message.dropped, message.deferred, message.read, message.replied")
      ->required();
  webhook_add->add_option("--name", webhook_name, "A label for it");
  auto* webhook_list = webhook->add_subcommand("list", "List webhooks (never their secrets)");
  add_data(webhook_list);
  auto* webhook_show = webhook->add_subcommand("show", "A webhook and its latest deliveries");
  add_data(webhook_show);
  webhook_show->add_option("ID", webhook_id, "The webhook's id (webhook list)")->required();
  auto* webhook_remove =
      webhook->add_subcommand("remove", "Remove a webhook; its pending deliveries are cancelled");
  add_data(webhook_remove);
  webhook_remove->add_option("ID", webhook_id, "The webhook's id (webhook list)")->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sealpost: %s (see --help)\n", e.what());
    return 2;
  }

  if (*init) return app::run_init(data, hostname, database, database_password_file);
  if (*migrate) return app::run_migrate(data, migrate_to, database_password_file);
  if (*key_import) return app::run_key_import(data, key_file);
  if (*key_list) return app::run_key_list(data);
  if (*form_add) return app::run_form_add(data, form_file);
  if (*form_list) return app::run_form_list(data);
  if (*form_show) return app::run_form_show(data, form_id);
  if (*form_disable) return app::run_form_disable(data, form_id);
  if (*serve) {
    return app::run_serve(data, https_listen, http_listen, admin_listen, submission_listen,
                          submissions_listen);
  }
  if (*exp) return app::run_export(data, form_id, out, since);
  if (*user_add) return app::run_user_add(data, email, roles);
  if (*user_link) return app::run_user_link(data, email);
  if (*user_list) return app::run_user_list(data);
  if (*audit_verify) return app::run_audit_verify(data, audit_checkpoints);
  if (*audit_export) return app::run_audit_export(data, audit_out);
  if (*block_add) return app::run_block_add(data, cidr, block_until, block_reason);
  if (*block_list) return app::run_block_list(data);
  if (*block_remove) return app::run_block_remove(data, cidr);
  if (*dkim_init) return app::run_dkim_init(data, dkim_domain, dkim_selector, dkim_algorithm);
  if (*mail_send) return app::run_mail_send(data, send);
  if (*mail_show) return app::run_mail_show(data, message_id);
  if (*mail_queue) return app::run_mail_queue(data);
  if (*mail_cancel) return app::run_mail_cancel(data, message_id);
  if (*mail_revoke) return app::run_mail_revoke(data, message_id);
  if (*contact_import) return app::run_contact_import(data, contact_file, contact_grant);
  if (*contact_list) return app::run_contact_list(data);
  if (*contact_show) return app::run_contact_show(data, contact_email);
  if (*contact_revoke) return app::run_contact_revoke(data, contact_email, contact_purpose);
  if (*campaign_list) return app::run_campaign_list(data);
  if (*campaign_status) return app::run_campaign_status(data, campaign_id);
  if (*campaign_pause) return app::run_campaign_stop(data, campaign_id, false);
  if (*campaign_cancel) return app::run_campaign_stop(data, campaign_id, true);
  if (*mail_prune) return app::run_mail_prune(data);
  if (*mail_reset_recipient) return app::run_mail_reset_recipient(data, recipient_email);
  if (*mail_tls_report) return app::run_mail_tls_report(data, report_day);
  if (*mail_check_dns) return app::run_mail_check_dns(data);
  if (*cert_import) return app::run_cert_import(data, cert_file, cert_pin, cert_gcm);
  if (*cert_list) return app::run_cert_list(data);
  if (*cert_remove) return app::run_cert_remove(data, cert_id);
  if (*apikey_add) return app::run_apikey_add(data, apikey_name, apikey_scopes);
  if (*apikey_list) return app::run_apikey_list(data);
  if (*apikey_revoke) return app::run_apikey_revoke(data, apikey_id);
  if (*webhook_add) return app::run_webhook_add(data, webhook_url, webhook_events, webhook_name);
  if (*webhook_list) return app::run_webhook_list(data);
  if (*webhook_show) return app::run_webhook_show(data, webhook_id);
  if (*webhook_remove) return app::run_webhook_remove(data, webhook_id);
  return 2;
}
