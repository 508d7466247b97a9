// A benchmark-only Product module whose lifecycle jobs do nothing and
// succeed: the API benchmarks measure Billow's own path (command, job
// events, outcome), not a remote system's.
#include "modules/sdk/entry.hpp"
#include "modules/sdk/product.hpp"

namespace {

namespace sdk = billow::modules::sdk;

class noop_module : public sdk::product {
public:
  caf::expected<void> create_job(sdk::service_context&) override {
    return {};
  }
  caf::expected<void> suspend_job(sdk::service_context&) override {
    return {};
  }
  caf::expected<void> unsuspend_job(sdk::service_context&) override {
    return {};
  }
  caf::expected<void> termination_job(sdk::service_context&) override {
    return {};
  }
  caf::expected<void> change_package_job(sdk::service_context&) override {
    return {};
  }
};

} // namespace

BILLOW_MODULE(noop_module)
