#pragma once

// The provisioning projection: services, clients and products as the log
// says they are, for the admin lists and a service's GET.
//
// Events it reads:
//   service-<id>   every `service.*` event, folded by the service aggregate's
//                  own `service_state::apply`; the last `result` that holds a
//                  `service_data` object is the service's data; a
//                  `next_due_date` string in a payload is its due date
//   client-<id>    `client.*`: fields folded, later ones win
//   product-<id>   `product.*`: same
//
// Read model (column family `proj_provisioning`), one JSON record a key:
//   s/<id>  a service      c/<id>  a client      p/<id>  a product
// In memory: the records plus indexes by status, client and product, so a
// filtered list reads only the matching services.

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "actors/service.hpp"
#include "actors/service_state.hpp"
#include "actors/uuid_hash.hpp"
#include "projections/projection.hpp"

namespace billow::projections {

/// One service in the read model. What every event of the service writes
/// comes first, so that folding one touches as few cache lines as it can.
struct service_row {
  /// Position of its first event: the list order.
  uint64_t seq = 0;
  uint64_t version = 0;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  /// Changed since the last commit (the projection's bookkeeping).
  bool dirty = false;
  /// The status sets it is listed in, one bit a status (bookkeeping).
  uint8_t listed_statuses = 0;
  /// Changed since the indexes were last brought up to date (bookkeeping).
  bool unindexed = false;
  actors::service_state state;
  std::string id;
  /// The `service_data` object the module last recorded (JSON text).
  std::string service_data = "{}";
  /// Its next due date (RFC 3339 date or time), empty when none.
  std::string next_due_date;

  /// As the service aggregate answers it.
  actors::service_view view() const;
};

/// One client or product: its fields folded from its events.
struct entity_row {
  std::string id;
  uint64_t seq = 0;
  boost::json::object fields;
  uint64_t version = 0;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  /// Changed since the last commit (the projection's bookkeeping).
  bool dirty = false;
};

/// Filters of the service list; empty ones match everything.
struct service_filter {
  std::optional<actors::service_status> status;
  std::string client_id;
  std::string product_id;
};

/// Hashes std::string and std::string_view alike (lookups without a copy).
/// Not noexcept on purpose: libstdc++ then caches each node's hash, so a
/// lookup compares hashes instead of rehashing the ids along its bucket.
struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>{}(s);
  }
};

/// A map by id that finds by string_view.
template <class T>
using id_map = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

class provisioning : public projection {
public:
  provisioning();

  std::optional<service_row> service(std::string_view id) const;

  /// A service's `service_data` (JSON object text), or nullopt for an
  /// unknown service; the one field module code needs, without a row copy.
  std::optional<std::string> service_data(std::string_view id) const;

  /// Services matching `filter` after list position `after`, at most `limit`.
  page<service_row> services(const service_filter& filter, uint64_t after,
                             size_t limit) const;

  page<entity_row> clients(uint64_t after, size_t limit) const;
  page<entity_row> products(uint64_t after, size_t limit) const;

  /// One client or product as its events fold (later fields win; an
  /// erasure sets `erased`), or nullopt when unknown.
  std::optional<entity_row> client(std::string_view id) const;
  std::optional<entity_row> product(std::string_view id) const;

  /// A product's `product_data` object (empty when it has none), or nullopt
  /// for an unknown product: what module code gets as the product's data.
  std::optional<boost::json::object> product_data(std::string_view id) const;

  /// A product's `name` (empty when it has none), or nullopt for an unknown
  /// product: what a service's answer shows as `product_name`, without a
  /// row copy.
  std::optional<std::string> product_name(std::string_view id) const;

  size_t service_count() const;

protected:
  void reset_locked() override;
  caf::error load_record(std::string_view key, std::string_view value) override;
  void apply_locked(const events::envelope& ev) override;
  void flush_locked(rocksdb::WriteBatch& batch,
                    rocksdb::ColumnFamilyHandle* cf) override;

private:
  struct entities {
    id_map<entity_row> by_id;
    std::map<uint64_t, const entity_row*> by_seq;
    std::vector<entity_row*> dirty;
  };

  void apply_service(const events::envelope& ev, std::string_view id);
  /// The service `id`, added (empty but for its id) when it is new.
  std::pair<service_row*, bool> find_or_add_service(std::string_view id);
  /// The service `id`, or nullptr.
  service_row* find_service(std::string_view id) const;
  void apply_entity(entities& set, const events::envelope& ev,
                    std::string_view id);
  void index_service(service_row& row);
  /// What the indexes are keyed by.
  struct index_keys {
    actors::service_status status;
    events::uuid client_id;
    events::uuid product_id;
  };
  /// Lists `row` under its current status when it is not yet.
  void note_status(service_row& row);
  /// Moves `row` between indexes where it changed since `before`.
  void reindex_service(service_row& row, const index_keys& before);
  /// A service changed since the indexes were last updated, with the keys
  /// it was indexed under then (none: it was not indexed yet).
  struct unindexed_service {
    service_row* row;
    std::optional<index_keys> before;
  };
  /// Brings the indexes up to date with every service in `unindexed_`.
  void end_batch_locked() override;
  page<entity_row> entity_page(const entities& set, uint64_t after,
                               size_t limit) const;

  /// The services, at addresses that never change (the indexes and the
  /// dirty lists point at them).
  std::deque<service_row> service_rows_;
  /// An id short enough to sit in a table slot (a UUID's text is 36).
  struct short_id {
    std::array<char, 39> chars{};
    uint8_t size = 0;
    static constexpr size_t capacity = 39;
    explicit short_id(std::string_view id) noexcept
      : size(static_cast<uint8_t>(id.size())) {
      std::copy(id.begin(), id.end(), chars.begin());
    }
    std::string_view view() const noexcept {
      return {chars.data(), size};
    }
    friend bool operator==(const short_id& a, const short_id& b) noexcept {
      return a.view() == b.view();
    }
  };
  struct short_id_hash {
    size_t operator()(const short_id& x) const noexcept {
      return std::hash<std::string_view>{}(x.view());
    }
  };
  /// Services by id, open addressing: a lookup, done for every service
  /// event, reads one slot group and the row instead of walking a chain of
  /// separately allocated nodes. Ids up to `short_id::capacity` characters
  /// (every UUID) are held in the slot itself, so comparing one reads no
  /// other memory; longer ids are views of their rows' own ids.
  boost::unordered_flat_map<short_id, service_row*, short_id_hash>
    services_by_short_id_;
  boost::unordered_flat_map<std::string_view, service_row*, string_hash>
    services_by_long_id_;
  std::map<uint64_t, const service_row*> services_by_seq_;
  /// Services by every status they ever had: a service joins a status's
  /// set the first time it gets it and never leaves (a list checks each
  /// entry's current status), so a suspend/unsuspend cycle costs no tree
  /// updates (`service_row::listed_statuses`).
  std::array<std::set<uint64_t>, 6> by_status_;
  /// Services by client and by product (open addressing: a new service
  /// finds its client's and product's sets without walking bucket chains).
  boost::unordered_flat_map<events::uuid, std::set<uint64_t>, actors::uuid_hash>
    by_client_;
  boost::unordered_flat_map<events::uuid, std::set<uint64_t>, actors::uuid_hash>
    by_product_;
  std::vector<service_row*> dirty_services_;
  /// Services changed in the current batch: their index updates wait for
  /// the batch's end (readers never see a batch half applied), so a service
  /// that changes status several times in a batch moves in the indexes once.
  std::vector<unindexed_service> unindexed_;
  entities clients_;
  entities products_;
};

} // namespace billow::projections
