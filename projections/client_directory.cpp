#include "projections/client_directory.hpp"

#include <algorithm>
#include <mutex>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/subscription.hpp"
#include "projections/admin_directory.hpp"
#include "projections/directory_follower.hpp"
#include "vault/personal_data.hpp"

namespace billow::projections {

void client_directory::apply(const events::envelope& ev) {
  std::unique_lock guard{mtx_};
  if (ev.position <= applied_.position())
    return; // already applied (catch-up and live may overlap)
  // A reader woken here looks up under the shared lock, so it sees this
  // event once the lock is released.
  applied_.set(ev.position);
  apply_locked(ev);
}

void client_directory::apply_locked(const events::envelope& ev) {
  if (ev.type != created && ev.type != password_changed && ev.type != erased)
    return;
  auto id = ev.stream.substr(ev.stream.find('-') + 1);
  if (ev.type == erased) {
    auto i = by_id_.find(id);
    if (i == by_id_.end())
      return;
    auto& acc = i->second;
    if (auto l = login_by_email_.find(acc.email);
        l != login_by_email_.end() && l->second == id)
      login_by_email_.erase(l);
    acc.email = acc.name = std::string{vault::erased_text};
    acc.password_hash.clear();
    acc.erased = true;
    return;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(ev.payload, ec);
  if (ec || !doc.is_object()) {
    spdlog::error("client directory: bad payload at position {}", ev.position);
    return;
  }
  const auto& obj = doc.as_object();
  auto text = [&](const char* key) -> std::string {
    auto* v = obj.if_contains(key);
    if (v == nullptr || !v->is_string())
      return {};
    if (personal_)
      return personal_->reveal(v->as_string());
    return std::string{v->as_string()};
  };
  if (ev.type == password_changed) {
    auto i = by_id_.find(id);
    if (i == by_id_.end() || i->second.erased)
      return;
    i->second.password_hash = introduced_password(credentials_.get(), ev,
                                                  text("password_hash"));
    if (!i->second.password_hash.empty())
      login_by_email_.emplace(i->second.email, i->second.id);
    return;
  }
  client_account acc;
  acc.id = std::move(id);
  acc.email = normalize_email(text("email"));
  acc.name = text("name");
  auto* login = obj.if_contains("login");
  bool has_login = login == nullptr ? obj.contains("password_hash")
                                    : login->is_bool() && login->as_bool();
  if (has_login)
    acc.password_hash = introduced_password(credentials_.get(), ev,
                                            text("password_hash"));
  if (!acc.password_hash.empty())
    login_by_email_.emplace(acc.email, acc.id); // the first login keeps it
  by_id_[acc.id] = std::move(acc);
}

std::optional<client_account>
client_directory::find_login(std::string_view email) const {
  std::shared_lock guard{mtx_};
  auto i = login_by_email_.find(normalize_email(email));
  if (i == login_by_email_.end())
    return std::nullopt;
  return by_id_.at(i->second);
}

std::optional<client_account>
client_directory::find_by_id(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = by_id_.find(std::string{id});
  if (i == by_id_.end())
    return std::nullopt;
  return i->second;
}

size_t client_directory::size() const {
  std::shared_lock guard{mtx_};
  return by_id_.size();
}

caf::error client_directory::catch_up(const events::event_store& store) {
  auto last = store.last_position();
  std::unique_lock guard{mtx_};
  if (last <= applied_.position())
    return caf::none;
  // Type by type: a client's creation comes before its password changes
  // and its erasure, and each type's events come in log order.
  for (auto type : {created, password_changed, erased})
    if (auto err = replay_type(store, type, last,
                               [this](const events::envelope& ev) {
                                 apply_locked(ev);
                               }))
      return err;
  applied_.raise(last);
  return caf::none;
}

caf::expected<events::subscriber_actor>
client_directory_follower(caf::actor_system& sys,
                          const events::event_store& store,
                          const std::shared_ptr<client_directory>& dir) {
  if (auto err = dir->catch_up(store))
    return err;
  return log_follower(sys, [dir](const events::envelope& ev) {
    dir->apply(ev);
  });
}

} // namespace billow::projections
