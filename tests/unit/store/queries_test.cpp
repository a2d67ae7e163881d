// Reads of submissions, forms and keys; the config generation.

#include "test_util.hpp"

namespace store::test {
namespace {

class StoreQueries : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = db_.open();
    ASSERT_TRUE(store_);
  }
  void append_all(const std::vector<NewSubmission>& subs) {
    Answers answers(subs.size());
    for (std::size_t i = 0; i < subs.size(); ++i)
      store_->submissions().append_submission(subs[i], answers.slot(i));
    ASSERT_TRUE(answers.wait_all());
    ASSERT_EQ(answers.count_ok(), subs.size());
  }
  TestDatabase db_;
  std::unique_ptr<detail::SqlStore> store_;
};

TEST_F(StoreQueries, ListSubmissionsInStoreOrderSinceAReference) {
  add_form(*store_, "contact");
  add_form(*store_, "other");
  std::vector<NewSubmission> subs;
  for (std::uint32_t i = 0; i < 5; ++i) subs.push_back(make_submission("contact", i, 10 + i));
  subs.push_back(make_submission("other", 99));
  append_all(subs);

  auto all = store_->submissions().list_submissions_blocking("contact", std::nullopt, 100);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& got = (*all)[i];
    EXPECT_EQ(got.meta.reference, subs[i].reference);
    EXPECT_EQ(got.meta.form_id, "contact");
    EXPECT_EQ(got.meta.form_version, 1);
    EXPECT_EQ(got.meta.received_at, subs[i].received_at);
    EXPECT_EQ(got.meta.size, subs[i].ciphertext.size());
    EXPECT_EQ(got.meta.recipients, subs[i].recipients);
    EXPECT_EQ(got.ciphertext, subs[i].ciphertext);
    if (i > 0) {
      EXPECT_LT((*all)[i - 1].meta.seq, got.meta.seq);
    }
  }

  auto since = store_->submissions().list_submissions_blocking("contact", subs[1].reference, 100);
  ASSERT_TRUE(since.has_value());
  ASSERT_EQ(since->size(), 3u);
  EXPECT_EQ((*since)[0].meta.reference, subs[2].reference);

  auto limited = store_->submissions().list_submissions_blocking("contact", subs[1].reference, 2);
  ASSERT_TRUE(limited.has_value());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[1].meta.reference, subs[3].reference);

  auto last = store_->submissions().list_submissions_blocking("contact", subs[4].reference, 100);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->empty());

  EXPECT_TRUE(
      store_->submissions().list_submissions_blocking("contact", std::nullopt, 0).value().empty());
  EXPECT_TRUE(
      store_->submissions().list_submissions_blocking("nosuch", std::nullopt, 10).value().empty());
}

TEST_F(StoreQueries, ListSinceUnknownReferenceIsNotFound) {
  add_form(*store_, "contact");
  add_form(*store_, "other");
  append_all({make_submission("contact", 1), make_submission("other", 2)});
  auto unknown =
      store_->submissions().list_submissions_blocking("contact", std::string("nope"), 10);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().kind(), core::ErrorKind::not_found);
  // A reference of another form does not count for this one.
  auto foreign = store_->submissions().list_submissions_blocking(
      "contact", make_submission("other", 2).reference, 10);
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().kind(), core::ErrorKind::not_found);
}

TEST_F(StoreQueries, FindAndCountSubmissions) {
  add_form(*store_, "contact");
  add_form(*store_, "other");
  append_all({make_submission("contact", 1, 123), make_submission("contact", 2),
              make_submission("other", 3)});
  auto found = store_->submissions().find_submission_blocking("contact", "contact-REF-1");
  ASSERT_TRUE(found.has_value());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->size, 123u);
  EXPECT_EQ((*found)->recipients.size(), 2u);
  EXPECT_FALSE(
      store_->submissions().find_submission_blocking("other", "contact-REF-1").value().has_value());
  EXPECT_FALSE(
      store_->submissions().find_submission_blocking("contact", "nope").value().has_value());
  EXPECT_EQ(store_->submissions().count_submissions_blocking("contact").value(), 2u);
  EXPECT_EQ(store_->submissions().count_submissions_blocking("other").value(), 1u);
  EXPECT_EQ(store_->submissions().count_submissions_blocking("nosuch").value(), 0u);
}

TEST_F(StoreQueries, FormVersionsAndEnabledState) {
  EXPECT_EQ(store_->forms().add_form_version_blocking("contact", "v1", 100, {}).value(), 1);
  EXPECT_EQ(store_->forms().add_form_version_blocking("contact", "v2", 200, {}).value(), 2);
  EXPECT_EQ(store_->forms().add_form_version_blocking("appointment", "a1", 300, {}).value(), 1);

  auto latest = store_->forms().latest_form_blocking("contact").value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->declaration, "v2");
  EXPECT_EQ(latest->created_at, 200);
  EXPECT_TRUE(latest->enabled);

  auto v1 = store_->forms().form_version_blocking("contact", 1).value();
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(v1->declaration, "v1");
  EXPECT_FALSE(store_->forms().form_version_blocking("contact", 3).value().has_value());
  EXPECT_FALSE(store_->forms().latest_form_blocking("nosuch").value().has_value());

  auto forms = store_->forms().latest_forms_blocking().value();
  ASSERT_EQ(forms.size(), 2u);
  EXPECT_EQ(forms[0].form_id, "appointment");
  EXPECT_EQ(forms[1].form_id, "contact");
  EXPECT_EQ(forms[1].version, 2);

  ASSERT_TRUE(store_->forms().set_form_enabled_blocking("contact", false).has_value());
  EXPECT_FALSE(store_->forms().latest_form_blocking("contact").value()->enabled);
  EXPECT_FALSE(
      store_->forms().form_version_blocking("contact", 1).value()->enabled);  // per form id
  EXPECT_TRUE(store_->forms().latest_form_blocking("appointment").value()->enabled);
  auto disabled_listed = store_->forms().latest_forms_blocking().value();
  ASSERT_EQ(disabled_listed.size(), 2u);  // disabled forms are listed too
  EXPECT_FALSE(disabled_listed[1].enabled);

  // Adding a new version publishes it: the form is enabled again (documented choice).
  EXPECT_EQ(store_->forms().add_form_version_blocking("contact", "v3", 400, {}).value(), 3);
  EXPECT_TRUE(store_->forms().latest_form_blocking("contact").value()->enabled);

  ASSERT_TRUE(store_->forms().set_form_enabled_blocking("contact", false).has_value());
  ASSERT_TRUE(store_->forms().set_form_enabled_blocking("contact", true).has_value());
  EXPECT_TRUE(store_->forms().latest_form_blocking("contact").value()->enabled);

  auto missing = store_->forms().set_form_enabled_blocking("nosuch", false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind(), core::ErrorKind::not_found);
}

TEST_F(StoreQueries, FormIdIsDataNotSql) {
  const std::string hostile = "x'); DROP TABLE forms; --";
  EXPECT_EQ(store_->forms().add_form_version_blocking(hostile, "d", 1, {}).value(), 1);
  EXPECT_EQ(store_->forms().latest_form_blocking(hostile).value()->form_id, hostile);
  EXPECT_EQ(store_->forms().latest_forms_blocking().value().size(), 1u);
}

KeyRecord make_key(const std::string& fingerprint, std::vector<std::string> user_ids) {
  KeyRecord key;
  key.fingerprint = fingerprint;
  key.armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" + fingerprint + "\n";
  key.user_ids = std::move(user_ids);
  key.created_at = 1000;
  key.imported_at = 2000;
  return key;
}

TEST_F(StoreQueries, KeysUpsertListFind) {
  const std::string b(40, 'B');
  const std::string a(40, 'A');
  ASSERT_TRUE(store_->forms().put_key_blocking(make_key(b, {"Bob <bob@example.org>"})).has_value());
  ASSERT_TRUE(store_->forms()
                  .put_key_blocking(
                      make_key(a, {"Alice <alice@example.org>", "Alice, \"Dr.\" <a@example.net>"}))
                  .has_value());

  auto keys = store_->forms().list_keys_blocking().value();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].fingerprint, a);
  EXPECT_EQ(keys[1].fingerprint, b);
  EXPECT_EQ(keys[0].user_ids.size(), 2u);
  EXPECT_EQ(keys[0].user_ids[1], "Alice, \"Dr.\" <a@example.net>");
  EXPECT_FALSE(keys[0].expires_at.has_value());
  EXPECT_EQ(keys[0].created_at, 1000);
  EXPECT_EQ(keys[0].imported_at, 2000);

  auto refreshed = make_key(b, {"Bob <bob@example.org>", "Bob <bob@work.example>"});
  refreshed.armored = "refreshed";
  refreshed.expires_at = 5000;
  refreshed.imported_at = 3000;
  ASSERT_TRUE(store_->forms().put_key_blocking(refreshed).has_value());
  EXPECT_EQ(store_->forms().list_keys_blocking().value().size(), 2u);
  auto found = store_->forms().find_key_blocking(b).value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->armored, "refreshed");
  EXPECT_EQ(found->user_ids.size(), 2u);
  EXPECT_EQ(found->expires_at, std::optional<std::int64_t>(5000));
  EXPECT_EQ(found->imported_at, 3000);
  EXPECT_FALSE(store_->forms().find_key_blocking(std::string(40, 'C')).value().has_value());
}

TEST_F(StoreQueries, CertificatesUpsertListRemove) {
  const auto cert = [](char c, std::vector<std::string> emails) {
    return CertRecord{.sha256 = std::string(64, c),
                      .pem = std::string("-----BEGIN CERTIFICATE-----\n") + c + "\n",
                      .emails = std::move(emails),
                      .subject = "CN=someone",
                      .not_before = 100,
                      .not_after = 900,
                      .pinned = false,
                      .aes_gcm = false,
                      .imported_at = 50};
  };
  const auto generation = store_->forms().config_generation_blocking().value();
  ASSERT_TRUE(store_->forms().put_cert_blocking(cert('B', {"b@example.org"})).has_value());
  ASSERT_TRUE(store_->forms()
                  .put_cert_blocking(cert('A', {"a@example.org", "a2@example.net"}))
                  .has_value());
  auto certs = store_->forms().list_certs_blocking().value();
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0].sha256, std::string(64, 'A'));
  EXPECT_EQ(certs[0].emails, (std::vector<std::string>{"a@example.org", "a2@example.net"}));
  EXPECT_EQ(certs[0].subject, "CN=someone");
  EXPECT_EQ(certs[0].not_before, 100);
  EXPECT_EQ(certs[0].not_after, 900);
  EXPECT_FALSE(certs[0].pinned);
  EXPECT_FALSE(certs[0].aes_gcm);
  EXPECT_EQ(certs[0].imported_at, 50);
  // Certificates are read at each send: no configuration reload for them.
  EXPECT_EQ(store_->forms().config_generation_blocking().value(), generation);

  // Re-importing the same certificate changes its flags, not the certificate.
  auto again = cert('B', {"b@example.org"});
  again.pinned = true;
  again.aes_gcm = true;
  again.imported_at = 60;
  ASSERT_TRUE(store_->forms().put_cert_blocking(again).has_value());
  certs = store_->forms().list_certs_blocking().value();
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_TRUE(certs[1].pinned);
  EXPECT_TRUE(certs[1].aes_gcm);
  EXPECT_EQ(certs[1].imported_at, 60);

  ASSERT_TRUE(store_->forms().remove_cert_blocking(std::string(64, 'A')).has_value());
  auto gone = store_->forms().remove_cert_blocking(std::string(64, 'A'));
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind(), core::ErrorKind::not_found);
  certs = store_->forms().list_certs_blocking().value();
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].sha256, std::string(64, 'B'));
}

TEST_F(StoreQueries, KeyWithInvalidUtf8UserIdIsRefused) {
  auto key = make_key(std::string(40, 'D'), {std::string("bad \xff\xfe id")});
  auto put = store_->forms().put_key_blocking(key);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().kind(), core::ErrorKind::invalid_input);
  EXPECT_TRUE(store_->forms().list_keys_blocking().value().empty());
}

TEST_F(StoreQueries, ConfigGenerationChangesOnFormAndKeyChangesOnly) {
  auto generation = [&] { return store_->forms().config_generation_blocking().value(); };
  const auto g0 = generation();
  add_form(*store_, "contact");
  const auto g1 = generation();
  EXPECT_NE(g1, g0);
  ASSERT_TRUE(store_->forms().set_form_enabled_blocking("contact", false).has_value());
  const auto g2 = generation();
  EXPECT_NE(g2, g1);
  ASSERT_TRUE(store_->forms().put_key_blocking(make_key(std::string(40, 'A'), {"a"})).has_value());
  const auto g3 = generation();
  EXPECT_NE(g3, g2);
  append_all({make_submission("contact", 1), make_submission("contact", 2)});
  EXPECT_EQ(generation(), g3);
  // A failed change changes nothing.
  EXPECT_FALSE(store_->forms().set_form_enabled_blocking("nosuch", true).has_value());
  EXPECT_EQ(generation(), g3);
}

TEST_F(StoreQueries, ConfigGenerationSeesChangesFromAnotherProcess) {
  // Another opener of the same file stands in for `sealpost form add` in another process.
  const auto before = store_->forms().config_generation_blocking().value();
  {
    auto other = db_.open();
    ASSERT_TRUE(other);
    add_form(*other, "contact");
  }
  EXPECT_NE(store_->forms().config_generation_blocking().value(), before);
  EXPECT_TRUE(store_->forms().latest_form_blocking("contact").value().has_value());
}

TEST_F(StoreQueries, TheFirstNodesSecretFingerprintIsKept) {
  auto first = store_->cluster().claim_secret_fingerprint_blocking("form-token", "aaaa", 100);
  ASSERT_TRUE(first.has_value()) << first.error().detail();
  EXPECT_EQ(first->fingerprint, "aaaa");
  EXPECT_EQ(first->recorded_at, 100);
  // The same node again, and a node with another secret: both are told the first one.
  EXPECT_EQ(store_->cluster()
                .claim_secret_fingerprint_blocking("form-token", "aaaa", 200)
                .value()
                .fingerprint,
            "aaaa");
  auto other = store_->cluster().claim_secret_fingerprint_blocking("form-token", "bbbb", 300);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->fingerprint, "aaaa");
  EXPECT_EQ(other->recorded_at, 100);
  EXPECT_EQ(
      store_->cluster().claim_secret_fingerprint_blocking("portal-seal", "cccc", 400)->fingerprint,
      "cccc");
}

}  // namespace
}  // namespace store::test
