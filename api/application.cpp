#include "api/application.hpp"

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "api/front.hpp"
#include "api/metrics.hpp"
#include "api/operations.hpp"

namespace billow::api {

struct application::impl {
  application_options opts;
  std::shared_ptr<prometheus::Registry> registry
    = std::make_shared<prometheus::Registry>();
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor front;
  std::unique_ptr<http_server> server;

  std::vector<readiness_check> readiness() {
    return {
      {"http",
       [this]() -> std::optional<std::string> {
         if (server && server->draining())
           return "shutting down";
         return std::nullopt;
       }},
      {"data_dir",
       [this]() -> std::optional<std::string> {
         if (::access(opts.data_dir.c_str(), W_OK) != 0)
           return "data directory " + opts.data_dir.string()
             + " is not writable";
         return std::nullopt;
       }},
    };
  }
};

application::application(application_options opts)
  : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
}

application::~application() {
  shutdown();
  wait();
}

std::error_code application::start() {
  auto& d = *impl_;
  std::error_code ec;
  std::filesystem::create_directories(d.opts.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}",
                  d.opts.data_dir.string(), ec.message());
    return ec;
  }
  d.cfg = actors::make_actor_system_config(d.opts.runtime);
  d.sys = std::make_unique<caf::actor_system>(*d.cfg);
  auto routes = std::make_shared<route_table>();
  add_operations_routes(*routes, d.registry, d.readiness());
  if (d.opts.extra_routes)
    d.opts.extra_routes(*routes);
  d.front = spawn_front(*d.sys, std::move(routes));
  d.server = std::make_unique<http_server>(
    d.opts.http,
    [front = d.front](exchange_ptr ex) {
      caf::anon_send(front, std::move(ex));
    },
    std::make_shared<http_metrics>(d.registry));
  if (ec = d.server->start(); ec) {
    spdlog::error("cannot listen on {}:{}: {}", d.opts.http.host,
                  d.opts.http.port, ec.message());
    d.server.reset();
    return ec;
  }
  spdlog::info("listening on http://{}:{} (data in {})", d.opts.http.host,
               d.server->port(), d.opts.data_dir.string());
  return {};
}

uint16_t application::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

void application::shutdown() {
  if (impl_->server)
    impl_->server->shutdown();
}

void application::wait() {
  auto& d = *impl_;
  if (d.server) {
    d.server->wait();
    d.server.reset(); // drops its handle on the front actor
  }
  if (d.front) {
    caf::anon_send_exit(d.front, caf::exit_reason::user_shutdown);
    d.front = nullptr;
  }
  if (d.sys) {
    d.sys.reset(); // waits for every actor to finish
    spdlog::info("stopped");
  }
}

} // namespace billow::api
