// The minimal module of docs/modules.md: a Plugin with one admin page, one
// job and a view.
#include "modules/sdk/entry.hpp"
#include "modules/sdk/plugin.hpp"

namespace sdk = billow::modules::sdk;

class hello_plugin : public sdk::plugin {
public:
  hello_plugin() {
    register_admin_controller(
      "page",
      [this](const sdk::admin_call& call) -> caf::expected<boost::json::value> {
        auto name = call.params.contains("name") ? call.params.at("name")
                                                 : boost::json::value("world");
        auto html = view("page", {{"name", name}});
        if (!html)
          return std::move(html.error());
        return boost::json::value(*html);
      });
    register_job("greet_job",
                 [this](sdk::job_call& call) -> caf::expected<void> {
                   log_info("greet_job", "greeted", call.data);
                   return caf::unit;
                 });
  }

  caf::expected<void> activate() override {
    log_info("activate", "hello is active");
    return caf::unit;
  }

  caf::expected<void> update(const std::string& from_version) override {
    log_info("update", "migrated", {{"from", from_version}});
    return caf::unit;
  }

  std::vector<sdk::admin_permission> admin_permissions() const override {
    return {{"hello-view", "See hello", "Open the hello page"}};
  }

  std::vector<sdk::admin_route> admin_web_routes() const override {
    return {{"get", "page", "hello-view", "page", "page"}};
  }

  std::vector<sdk::scheduled_job> schedule() const override {
    return {{"greet_job", std::chrono::seconds{3600}, {}}};
  }
};

BILLOW_MODULE(hello_plugin)
