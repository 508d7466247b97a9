#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "events/errc.hpp"
#include "modules/sdk/loader.hpp"
#include "modules/sdk/notification.hpp"
#include "tests/modules/test_helpers.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/smtp_server.hpp"

namespace sdk = billow::modules::sdk;
namespace json = boost::json;

namespace {

class smtp_module_test : public ::testing::Test {
protected:
  void SetUp() override {
    entry_ = sdk::load_module(std::filesystem::path{BILLOW_BUILT_MODULES_DIR}
                              / "Notification" / "smtp");
    ASSERT_TRUE(entry_.loaded()) << entry_.refused->message;
    mod_ = static_cast<sdk::notification*>(entry_.instance.get());
  }

  void configure(const json::object& extra) {
    sdk::context_options opts;
    opts.manifest = *entry_.manifest;
    opts.module_dir = entry_.dir;
    opts.log = log_;
    opts.secrets
      = *sdk::secret_box::from_config(sdk::secret_box::generate_key_hex());
    json::object cfg{{"email", "billing@example.org"},
                     {"server", "127.0.0.1"},
                     {"sender_name", "Billow Billing"},
                     {"port", server_.port()},
                     {"encryption", "none"},
                     {"retries", 3},
                     {"retry_backoff_ms", 10},
                     {"timeout_ms", 5000}};
    for (const auto& [k, v] : extra)
      cfg[k] = v;
    opts.config = std::move(cfg);
    mod_->attach(std::make_shared<sdk::module_context>(opts));
  }

  billow::test::smtp_server server_{
    std::filesystem::path{BILLOW_TEST_SUPPORT_DIR} / "smtp_sink.py"};
  sdk::scan_entry entry_;
  sdk::notification* mod_ = nullptr;
  std::shared_ptr<billow::test::recording_log> log_
    = std::make_shared<billow::test::recording_log>();
};

TEST_F(smtp_module_test, delivers_to_a_real_smtp_server) {
  configure({});
  auto res = mod_->send({{"to", "ann@example.com"},
                         {"subject", "Invoice #42 — paid"},
                         {"message", "Thank you, Ann.\nYour invoice is paid."},
                         {"attachments",
                          json::array{json::object{{"filename", "inv.txt"},
                                                   {"content", "aGVsbG8="}}}}});
  ASSERT_TRUE(res) << billow::detail_of(res.error());
  EXPECT_EQ(res->at("status"), "success");
  auto msgs = server_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  auto m = json::parse(msgs[0]).as_object();
  EXPECT_EQ(m.at("mail_from"), "billing@example.org");
  EXPECT_EQ(m.at("rcpt_tos"), json::array{"ann@example.com"});
  EXPECT_EQ(m.at("from"), "Billow Billing <billing@example.org>");
  EXPECT_EQ(m.at("subject"), "Invoice #42 — paid");
  EXPECT_EQ(m.at("body"), "Thank you, Ann.\nYour invoice is paid.");
  EXPECT_EQ(m.at("attachments"), json::array{"inv.txt"});
  auto records = log_->records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().message, "Email sent successfully");
}

TEST_F(smtp_module_test, validation_names_each_failing_field) {
  configure({});
  auto res
    = mod_->send({{"to", "not-an-email"}, {"subject", std::string(256, 's')}});
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()),
            billow::billow_errc::invalid_argument);
  auto answer = json::parse(billow::detail_of(res.error())).as_object();
  EXPECT_EQ(answer.at("code"), 422);
  const auto& errors = answer.at("errors").as_object();
  EXPECT_TRUE(errors.contains("to"));
  EXPECT_TRUE(errors.contains("subject"));
  EXPECT_TRUE(errors.contains("message"));
  EXPECT_EQ(errors.size(), 3u);
  // A valid message next to one bad field names only that field.
  res = mod_->send({{"to", "a@example.com"},
                    {"subject", "hi\r\nBcc: evil@example.com"},
                    {"message", "x"}});
  ASSERT_FALSE(res);
  auto one = json::parse(billow::detail_of(res.error())).as_object();
  EXPECT_EQ(one.at("errors").as_object().size(), 1u);
  EXPECT_TRUE(one.at("errors").as_object().contains("subject"));
  EXPECT_TRUE(server_.messages().empty());
}

TEST_F(smtp_module_test, rate_limit_holds_per_module) {
  configure({{"rate_limit_per_minute", 2}});
  json::object msg{
    {"to", "bob@example.com"}, {"subject", "s"}, {"message", "m"}};
  EXPECT_TRUE(mod_->send(msg));
  EXPECT_TRUE(mod_->send(msg));
  auto third = mod_->send(msg);
  ASSERT_FALSE(third);
  EXPECT_EQ(billow::errc_of(third.error()), billow::billow_errc::unavailable);
  EXPECT_NE(billow::detail_of(third.error()).find("rate limit"),
            std::string::npos);
  EXPECT_EQ(server_.messages().size(), 2u);
}

TEST_F(smtp_module_test, retries_with_backoff_then_reports_the_failure) {
  auto closed = billow::test::free_loopback_port();
  configure({{"port", closed}, {"retries", 3}, {"retry_backoff_ms", 20}});
  auto start = std::chrono::steady_clock::now();
  auto res
    = mod_->send({{"to", "c@example.com"}, {"subject", "s"}, {"message", "m"}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()), billow::billow_errc::unavailable);
  EXPECT_NE(billow::detail_of(res.error()).find("after 3 attempts"),
            std::string::npos);
  auto records = log_->records();
  EXPECT_EQ(std::count_if(records.begin(), records.end(),
                          [](const auto& r) {
                            return r.message == "attempt failed";
                          }),
            3);
  // Backoff 20 ms then 40 ms.
  EXPECT_GE(took, std::chrono::milliseconds{60});
}

} // namespace
