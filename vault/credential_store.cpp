#include "vault/credential_store.hpp"

#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::vault {

namespace {

std::string subject_prefix(std::string_view subject) {
  std::string key{subject};
  key.push_back('\0');
  return key;
}

std::string record_key(std::string_view subject, std::string_view kind,
                       const events::uuid& event_id) {
  auto key = subject_prefix(subject);
  key.append(kind);
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(event_id.bytes.data()),
             event_id.bytes.size());
  return key;
}

} // namespace

credential_store::credential_store(events::event_store& store,
                                   modules::sdk::secret_box box)
  : store_(&store), box_(std::move(box)) {
  // nop
}

caf::error
credential_store::put(std::string_view subject, std::string_view kind,
                      const events::uuid& event_id, std::string_view secret) {
  auto* cf = store_->column_family(credentials_family);
  if (cf == nullptr)
    return make_error(billow_errc::internal,
                      "the store was opened without the credentials family");
  rocksdb::WriteBatch batch;
  batch.Put(cf, record_key(subject, kind, event_id), box_.seal(secret));
  return store_->write(batch, events::durability::async);
}

caf::error credential_store::put_if_absent(std::string_view subject,
                                           std::string_view kind,
                                           const events::uuid& event_id,
                                           std::string_view secret) {
  if (get(subject, kind, event_id))
    return caf::none;
  return put(subject, kind, event_id, secret);
}

caf::expected<std::string>
credential_store::get(std::string_view subject, std::string_view kind,
                      const events::uuid& event_id) const {
  auto* cf = store_->column_family(credentials_family);
  if (cf == nullptr)
    return make_error(billow_errc::internal,
                      "the store was opened without the credentials family");
  std::string sealed;
  auto st = store_->db().Get(rocksdb::ReadOptions{}, cf,
                             record_key(subject, kind, event_id), &sealed);
  if (st.IsNotFound())
    return make_error(billow_errc::not_found,
                      "no " + std::string{kind} + " credential for "
                        + std::string{subject});
  if (!st.ok())
    return make_error(billow_errc::storage_error,
                      "reading a credential: " + st.ToString());
  return box_.unseal(sealed);
}

caf::error credential_store::erase_subject(std::string_view subject) {
  auto* cf = store_->column_family(credentials_family);
  if (cf == nullptr)
    return make_error(billow_errc::internal,
                      "the store was opened without the credentials family");
  auto prefix = subject_prefix(subject);
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it{
    store_->db().NewIterator(rocksdb::ReadOptions{}, cf)};
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next())
    batch.Delete(cf, it->key());
  if (!it->status().ok())
    return make_error(billow_errc::storage_error,
                      "reading credentials: " + it->status().ToString());
  return store_->write(batch, events::durability::sync);
}

} // namespace billow::vault
