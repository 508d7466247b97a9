#include "vault/vault.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "events/envelope.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "vault/key_file.hpp"

namespace billow::vault {

namespace {

constexpr std::string_view fields[]
  = {"name",     "email",    "address", "phone",    "tax_id", "company",
     "address1", "address2", "city",    "postcode", "state"};

/// The checkpoint below which old events' hashes have been moved.
constexpr std::string_view migrated_checkpoint = "vault.credentials";

/// Calls `fn` for each event of `type` from `from` on, through the type
/// index.
caf::error
each_of_type(const events::event_store& store, std::string_view type,
             uint64_t from,
             const std::function<caf::error(const events::envelope&)>& fn) {
  events::log_query q;
  q.type = std::string{type};
  q.from_position = from;
  q.limit = 1000;
  for (;;) {
    auto page = store.query(q);
    if (!page)
      return std::move(page.error());
    for (const auto& ev : page->events)
      if (auto err = fn(ev))
        return err;
    if (!page->next_cursor)
      return caf::none;
    q.from_position = *page->next_cursor;
  }
}

/// Moves the hashes of schema-1 `admin.created` and `client.created` events
/// into the credential store. Runs before the upcasters are registered, so
/// it reads the payloads as stored.
caf::error migrate_credentials(events::event_store& store,
                               credential_store& creds) {
  uint64_t from = 1;
  if (auto done = store.load_checkpoint(migrated_checkpoint))
    from = *done + 1;
  auto head = store.last_position();
  if (from > head)
    return caf::none;
  uint64_t moved = 0;
  for (auto type : {"admin.created", "client.created"}) {
    auto err = each_of_type(
      store, type, from, [&](const events::envelope& ev) -> caf::error {
        if (ev.schema != 1 || ev.position > head)
          return caf::none;
        boost::system::error_code ec;
        auto doc = boost::json::parse(ev.payload, ec);
        if (ec || !doc.is_object())
          return caf::none;
        auto* hash = doc.as_object().if_contains("password_hash");
        if (hash == nullptr || !hash->is_string() || hash->as_string().empty())
          return caf::none;
        ++moved;
        return creds.put_if_absent(ev.stream, password_kind, ev.event_id,
                                   hash->as_string());
      });
    if (err)
      return err;
  }
  if (moved > 0)
    spdlog::info("vault: moved {} password hashes of older events into the "
                 "credential store",
                 moved);
  return store.save_checkpoint(migrated_checkpoint, head);
}

/// Lifts schema-1 account events: the hash leaves (`login` says whether
/// there is one); an erased client's plaintext fields read "[erased]".
caf::error register_upcasters(events::event_store& store,
                              std::shared_ptr<personal_data> pd) {
  auto lift = [pd](const events::envelope& ev) -> caf::expected<std::string> {
    boost::system::error_code ec;
    auto doc = boost::json::parse(ev.payload, ec);
    if (ec || !doc.is_object())
      return make_error(billow_errc::corruption,
                        "event " + std::to_string(ev.position)
                          + " has a payload that is not a JSON object");
    auto& obj = doc.as_object();
    if (auto* hash = obj.if_contains("password_hash")) {
      bool login = hash->is_string() && !hash->as_string().empty();
      obj.erase("password_hash");
      obj["login"] = login;
    }
    if (ev.type.starts_with("client.") && pd->is_erased(ev.stream))
      for (auto name : personal_fields())
        if (auto* v = obj.if_contains(name); v && v->is_string())
          *v = erased_text;
    return boost::json::serialize(obj);
  };
  for (auto type : {"admin.created", "client.created"})
    if (auto err = store.upcasters().add(type, 1, 2,
                                         events::upcast_envelope_fn{lift}))
      return err;
  return caf::none;
}

/// Destroys the key of every client whose `client.erased` is in the log (a
/// crash may have come between the event and the key's destruction).
caf::error complete_erasures(events::event_store& store, personal_data& pd) {
  return each_of_type(
    store, "client.erased", 1, [&](const events::envelope& ev) -> caf::error {
      if (pd.is_erased(ev.stream))
        return caf::none;
      spdlog::info("vault: completing the erasure of {}", ev.stream);
      return pd.erase(ev.stream);
    });
}

} // namespace

std::span<const std::string_view> personal_fields() {
  return fields;
}

std::vector<std::string> vault_column_families() {
  return {std::string{credentials_family}, std::string{data_keys_family}};
}

caf::expected<stores> open_vault(events::event_store& store,
                                 const std::filesystem::path& keys_dir) {
  for (const auto& name : vault_column_families())
    if (store.column_family(name) == nullptr)
      return make_error(billow_errc::internal,
                        "the store was opened without the " + name
                          + " column family");
  auto key = load_or_create_key(keys_dir / "seal.key");
  if (!key)
    return std::move(key.error());
  std::array<uint8_t, modules::sdk::secret_box::key_size> bytes{};
  std::copy(key->begin(), key->end(), bytes.begin());
  modules::sdk::secret_box box{bytes};
  stores v;
  v.credentials = std::make_shared<credential_store>(store, box);
  v.personal = std::make_shared<personal_data>(store, box);
  if (auto err = migrate_credentials(store, *v.credentials))
    return err;
  if (auto err = register_upcasters(store, v.personal))
    return err;
  if (auto err = complete_erasures(store, *v.personal))
    return err;
  return v;
}

caf::error seal_fields(personal_data& pd, std::string_view subject,
                       boost::json::object& obj,
                       std::span<const std::string_view> names) {
  for (auto name : names) {
    auto* v = obj.if_contains(name);
    if (v == nullptr || !v->is_string()
        || personal_data::is_personal(v->as_string()))
      continue;
    auto sealed = pd.seal(subject, v->as_string());
    if (!sealed)
      return std::move(sealed.error());
    *v = *sealed;
  }
  return caf::none;
}

} // namespace billow::vault
