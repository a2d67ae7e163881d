#pragma once
// `sealpost contact import|list|show|revoke`: contacts and their authorisations (issue 11,
// C1; campaigns/contacts.hpp). Each returns the process exit code; errors print one line to
// stderr. Nothing prints a field's value or an address the operator did not type.

#include <string>

namespace app {

struct ContactGrantOptions {
  std::string purpose;          // empty: the import grants nothing
  std::string consent_version;  // required with purpose
  std::string scope = "email";
  std::string granted_on;  // YYYY-MM-DD (UTC); empty = now
  std::string expires_on;  // YYYY-MM-DD (UTC); empty = until revoked
  std::string evidence;    // how it was given, added to the file's digest
};

// All or nothing: a file with any bad row changes nothing and prints each problem (line,
// column, reason), at most 100. Progress on stderr every 10,000 rows. Audited
// contact.import.
int run_contact_import(const std::string& data_dir, const std::string& file,
                       const ContactGrantOptions& grant);
// How many contacts, and per purpose how many hold an authorisation in force and how many
// revoked one.
int run_contact_list(const std::string& data_dir);
// One contact by address: id, when and how it came, its field names, its authorisations.
int run_contact_show(const std::string& data_dir, const std::string& email);
// Revokes the contact's authorisations for a purpose at once. Audited authorisation.revoke.
int run_contact_revoke(const std::string& data_dir, const std::string& email,
                       const std::string& purpose);

}  // namespace app
