#include "projections/admin_directory.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/subscription.hpp"
#include "projections/directory_follower.hpp"
#include "vault/credential_store.hpp"
#include "vault/vault.hpp"

namespace billow::projections {

bool is_admin_group(std::string_view group) {
  return group == "owner" || group == "read_only";
}

bool group_grants(std::string_view group, std::string_view permission) {
  if (group == "owner")
    return true;
  if (group == "read_only")
    return permission != "secrets.read" && permission.size() >= 5
      && permission.substr(permission.size() - 5) == ".read";
  return false;
}

std::string normalize_email(std::string_view email) {
  auto begin = email.find_first_not_of(" \t");
  auto end = email.find_last_not_of(" \t");
  std::string out;
  if (begin != std::string_view::npos)
    out = std::string{email.substr(begin, end - begin + 1)};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

std::string introduced_password(const vault::credential_store* credentials,
                                const events::envelope& ev,
                                std::string_view payload_login) {
  if (!payload_login.empty())
    return std::string{payload_login}; // an old event, read without the vault
  if (credentials == nullptr)
    return {};
  auto hash = credentials->get(ev.stream, vault::password_kind, ev.event_id);
  if (!hash) {
    spdlog::error("directory: no credential for event {} of {}: {}",
                  ev.position, ev.stream, caf::to_string(hash.error()));
    return {};
  }
  return std::move(*hash);
}

void admin_directory::apply(const events::envelope& ev) {
  std::unique_lock guard{mtx_};
  if (ev.position <= applied_.position())
    return; // already applied (catch-up and live may overlap)
  // A reader woken here looks up under the shared lock, so it sees this
  // event once the lock is released.
  applied_.set(ev.position);
  apply_locked(ev);
}

void admin_directory::apply_locked(const events::envelope& ev) {
  if (ev.type != created && ev.type != password_changed)
    return;
  boost::system::error_code ec;
  auto doc = boost::json::parse(ev.payload, ec);
  if (ec || !doc.is_object()) {
    spdlog::error("admin directory: bad payload at position {}", ev.position);
    return;
  }
  const auto& obj = doc.as_object();
  auto text = [&](const char* key) -> std::string {
    if (auto* v = obj.if_contains(key); v && v->is_string())
      return std::string{v->as_string()};
    return {};
  };
  auto id = ev.stream.substr(ev.stream.find('-') + 1);
  if (ev.type == password_changed) {
    if (auto i = by_id_.find(id); i != by_id_.end())
      i->second.password_hash = introduced_password(credentials_.get(), ev,
                                                    text("password_hash"));
    return;
  }
  admin_account acc;
  acc.id = std::move(id);
  acc.email = normalize_email(text("email"));
  auto* login = obj.if_contains("login");
  if (login == nullptr || (login->is_bool() && login->as_bool()))
    acc.password_hash = introduced_password(credentials_.get(), ev,
                                            text("password_hash"));
  acc.group = text("group");
  id_by_email_[acc.email] = acc.id;
  by_id_[acc.id] = std::move(acc);
}

std::optional<admin_account>
admin_directory::find_by_email(std::string_view email) const {
  std::shared_lock guard{mtx_};
  auto i = id_by_email_.find(normalize_email(email));
  if (i == id_by_email_.end())
    return std::nullopt;
  return by_id_.at(i->second);
}

std::optional<admin_account>
admin_directory::find_by_id(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = by_id_.find(std::string{id});
  if (i == by_id_.end())
    return std::nullopt;
  return i->second;
}

size_t admin_directory::size() const {
  std::shared_lock guard{mtx_};
  return by_id_.size();
}

caf::error admin_directory::catch_up(const events::event_store& store) {
  auto last = store.last_position();
  std::unique_lock guard{mtx_};
  if (last <= applied_.position())
    return caf::none;
  // Type by type: an account's creation comes before its password changes,
  // and each type's events come in log order.
  for (auto type : {created, password_changed})
    if (auto err = replay_type(store, type, last,
                               [this](const events::envelope& ev) {
                                 apply_locked(ev);
                               }))
      return err;
  applied_.raise(last);
  return caf::none;
}

caf::expected<events::subscriber_actor>
admin_directory_follower(caf::actor_system& sys,
                         const events::event_store& store,
                         const std::shared_ptr<admin_directory>& dir) {
  if (auto err = dir->catch_up(store))
    return err;
  return log_follower(sys, [dir](const events::envelope& ev) {
    dir->apply(ev);
  });
}

} // namespace billow::projections
