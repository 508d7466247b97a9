#include "api/accounts.hpp"

#include <boost/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "api/auth.hpp"
#include "api/data_dir.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "projections/admin_directory.hpp"
#include "vault/vault.hpp"

namespace billow::api {

bool is_email(std::string_view email) {
  if (email.size() > 320
      || email.find_first_of(" \t\r\n") != std::string_view::npos)
    return false;
  auto at = email.find('@');
  if (at == 0 || at == std::string_view::npos
      || email.find('@', at + 1) != std::string_view::npos)
    return false;
  auto domain = email.substr(at + 1);
  auto dot = domain.find('.');
  return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

caf::expected<std::string>
create_admin(events::event_store& store, vault::credential_store& credentials,
             std::string_view email, std::string_view password,
             std::string_view group, std::string_view actor) {
  auto normalized = projections::normalize_email(email);
  if (!is_email(normalized))
    return make_error(billow_errc::invalid_argument,
                      fmt::format("'{}' is not an email address", email));
  if (password.size() < 8)
    return make_error(billow_errc::invalid_argument,
                      "the password must have at least 8 characters");
  if (!projections::is_admin_group(group))
    return make_error(billow_errc::invalid_argument,
                      fmt::format("unknown admin group '{}' (owner, read_only)",
                                  group));
  projections::admin_directory dir;
  if (auto err = dir.catch_up(store))
    return err;
  if (dir.find_by_email(normalized))
    return make_error(billow_errc::already_exists,
                      "an admin with email " + normalized + " exists already");
  auto id = events::to_string(events::uuid::random());
  auto stream = "admin-" + id;
  events::new_event ev;
  ev.event_id = events::uuid::random();
  ev.type = "admin.created";
  ev.schema = 2;
  ev.actor = std::string{actor};
  ev.payload = boost::json::serialize(boost::json::object{
    {"email", normalized},
    {"group", std::string{group}},
    {"login", true},
  });
  if (auto err = credentials.put(stream, vault::password_kind, ev.event_id,
                                 hash_password(password)))
    return err;
  std::vector<events::new_event> batch;
  batch.push_back(std::move(ev));
  auto res = store.append(stream, events::expected_version::no_stream(),
                          std::move(batch));
  if (!res)
    return std::move(res.error());
  return id;
}

caf::expected<std::string>
create_admin(stopped_data_dir& dir, std::string_view email,
             std::string_view password, std::string_view group,
             std::string_view actor) {
  return create_admin(*dir.store, *dir.vault.credentials, email, password,
                      group, actor);
}

} // namespace billow::api
