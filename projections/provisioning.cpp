#include "projections/provisioning.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "events/errc.hpp"
#include "projections/json_scratch.hpp"

namespace billow::projections {

namespace json = boost::json;

actors::service_view service_row::view() const {
  actors::service_view v;
  if (auto id_ = events::uuid::parse(id))
    v.id = *id_;
  v.client_id = state.client_id;
  v.product_id = state.product_id;
  v.module = state.module;
  v.status = state.status;
  v.provision = state.provision;
  v.pending_op = state.pending_op;
  v.job_id = state.job_id;
  v.last_error = state.last_error;
  v.version = version;
  v.period = state.period;
  v.label = state.label;
  return v;
}

provisioning::provisioning() : projection("provisioning") {
  // nop
}

namespace {

constexpr std::string_view service_prefix = "service-";
constexpr std::string_view client_prefix = "client-";
constexpr std::string_view product_prefix = "product-";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int64_t json_int(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && (v->is_int64() || v->is_uint64()))
    return v->to_number<int64_t>();
  return 0;
}

template <class Row, class Index>
page<Row> collect(const Index& seqs, uint64_t after, size_t limit,
                  const auto& row_of, const auto& keep) {
  page<Row> out;
  for (auto i = seqs.upper_bound(after); i != seqs.end(); ++i) {
    const auto* row = row_of(*i);
    if (row == nullptr || !keep(*row))
      continue;
    if (out.items.size() == limit) {
      out.next_after = out.items.back().seq;
      break;
    }
    out.items.push_back(*row);
  }
  return out;
}

} // namespace

void provisioning::reset_locked() {
  services_by_short_id_.clear();
  services_by_long_id_.clear();
  service_rows_.clear();
  services_by_seq_.clear();
  for (auto& s : by_status_)
    s.clear();
  by_client_.clear();
  by_product_.clear();
  dirty_services_.clear();
  unindexed_.clear();
  clients_ = entities{};
  products_ = entities{};
}

void provisioning::index_service(service_row& row) {
  // A new service has the largest list position so far: inserting at the
  // end is O(1) (the hint), not a walk down the tree.
  services_by_seq_.emplace_hint(services_by_seq_.end(), row.seq, &row);
  note_status(row);
  auto& by_client = by_client_[row.state.client_id];
  by_client.emplace_hint(by_client.end(), row.seq);
  auto& by_product = by_product_[row.state.product_id];
  by_product.emplace_hint(by_product.end(), row.seq);
}

void provisioning::note_status(service_row& row) {
  auto bit = static_cast<uint8_t>(1U
                                  << static_cast<unsigned>(row.state.status));
  if ((row.listed_statuses & bit) != 0)
    return; // listed there already (entries are checked on read)
  row.listed_statuses |= bit;
  auto& set = by_status_.at(static_cast<size_t>(row.state.status));
  set.emplace_hint(set.end(), row.seq);
}

void provisioning::reindex_service(service_row& row, const index_keys& before) {
  const auto& now = row.state;
  if (before.status != now.status)
    note_status(row);
  auto move = [&](auto& index, const events::uuid& from,
                  const events::uuid& to) {
    if (from == to)
      return;
    if (auto i = index.find(from); i != index.end()) {
      i->second.erase(row.seq);
      if (i->second.empty())
        index.erase(i);
    }
    index[to].insert(row.seq);
  };
  move(by_client_, before.client_id, now.client_id);
  move(by_product_, before.product_id, now.product_id);
}

void provisioning::end_batch_locked() {
  // In first-change order: new services come in list order, so each joins
  // the end of its indexes (the hinted, constant-time insert).
  for (auto& [row, before] : unindexed_) {
    row->unindexed = false;
    if (before)
      reindex_service(*row, *before);
    else
      index_service(*row);
  }
  unindexed_.clear();
}

void provisioning::apply_locked(const events::envelope& ev) {
  std::string_view stream = ev.stream;
  if (starts_with(stream, service_prefix))
    apply_service(ev, stream.substr(service_prefix.size()));
  else if (starts_with(stream, client_prefix))
    apply_entity(clients_, ev, stream.substr(client_prefix.size()));
  else if (starts_with(stream, product_prefix))
    apply_entity(products_, ev, stream.substr(product_prefix.size()));
}

/// Whether folding `ev` needs its payload: `service_state::apply` reads
/// nothing from these outcomes, so unless the payload carries a module
/// result or a due date, the parse is skipped (most of a busy log is
/// suspensions and their reversals).
bool needs_payload(const events::envelope& ev) {
  static constexpr std::string_view bare[]
    = {"service.suspended", "service.unsuspended", "service.terminated",
       "service.cancelled"};
  if (std::find(std::begin(bare), std::end(bare), ev.type) == std::end(bare))
    return true;
  // One walk over the quotes looks for both keys.
  std::string_view p = ev.payload;
  for (auto i = p.find('"'); i != std::string_view::npos;
       i = p.find('"', i + 1)) {
    auto rest = p.substr(i + 1);
    if (rest.starts_with("result\"") || rest.starts_with("next_due_date\""))
      return true;
  }
  return false;
}

service_row* provisioning::find_service(std::string_view id) const {
  if (id.size() <= short_id::capacity) {
    auto i = services_by_short_id_.find(short_id{id});
    return i == services_by_short_id_.end() ? nullptr : i->second;
  }
  auto i = services_by_long_id_.find(id);
  return i == services_by_long_id_.end() ? nullptr : i->second;
}

std::pair<service_row*, bool>
provisioning::find_or_add_service(std::string_view id) {
  if (auto* row = find_service(id))
    return {row, false};
  auto& row = service_rows_.emplace_back();
  row.id = std::string{id};
  if (id.size() <= short_id::capacity)
    services_by_short_id_.emplace(short_id{id}, &row);
  else
    services_by_long_id_.emplace(row.id, &row);
  return {&row, true};
}

void provisioning::apply_service(const events::envelope& ev,
                                 std::string_view id) {
  std::optional<json_scratch> scratch; // made only for a payload to parse
  static const json::object empty;
  const json::object* payload = &empty;
  if (needs_payload(ev))
    payload = scratch.emplace().parse_object(ev.payload);
  if (payload == nullptr) {
    spdlog::warn("provisioning: bad payload at position {}", ev.position);
    return;
  }
  auto [found, fresh] = find_or_add_service(id);
  auto& row = *found;
  if (fresh) {
    row.seq = ev.position;
    row.created_us = ev.time_us;
  }
  if (!row.unindexed) {
    row.unindexed = true;
    std::optional<index_keys> before;
    if (!fresh)
      before = index_keys{row.state.status, row.state.client_id,
                          row.state.product_id};
    unindexed_.push_back({&row, before});
  }
  actors::service_state::apply(row.state, ev.type, *payload);
  if (auto* result = payload->if_contains("result");
      result && result->is_string()) {
    json_scratch inner;
    if (auto* doc = inner.parse_object(result->get_string()))
      if (auto* data = doc->if_contains("service_data");
          data && data->is_object())
        row.service_data = json::serialize(*data);
  }
  if (auto* due = payload->if_contains("next_due_date");
      due && due->is_string())
    row.next_due_date = std::string{due->get_string()};
  row.version = ev.version;
  row.updated_us = ev.time_us;
  if (!row.dirty) {
    row.dirty = true;
    dirty_services_.push_back(&row);
  }
}

void provisioning::apply_entity(entities& set, const events::envelope& ev,
                                std::string_view id) {
  json_scratch scratch;
  auto* payload = scratch.parse_object(ev.payload);
  if (payload == nullptr) {
    spdlog::warn("provisioning: bad payload at position {}", ev.position);
    return;
  }
  auto it = set.by_id.find(id);
  bool fresh = it == set.by_id.end();
  if (fresh)
    it = set.by_id.try_emplace(std::string{id}).first;
  auto& row = it->second;
  if (fresh) {
    row.id = it->first;
    row.seq = ev.position;
    row.created_us = ev.time_us;
    set.by_seq[row.seq] = &row;
  }
  if (ev.type.ends_with(".erased"))
    row.fields["erased"] = true; // its reason is for the audit log
  else
    for (const auto& [k, v] : *payload)
      row.fields[k] = v; // copies into the row's own storage
  row.version = ev.version;
  row.updated_us = ev.time_us;
  if (!row.dirty) {
    row.dirty = true;
    set.dirty.push_back(&row);
  }
}

namespace {

/// Appends `text` as a JSON string literal: as is between quotes when
/// nothing in it needs escaping, else as Boost.JSON writes it.
void append_quoted(fmt::memory_buffer& out, std::string_view text) {
  bool plain = std::none_of(text.begin(), text.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  if (!plain) {
    auto q = json::serialize(json::string_view{text.data(), text.size()});
    out.append(q.data(), q.data() + q.size());
    return;
  }
  out.push_back('"');
  out.append(text.data(), text.data() + text.size());
  out.push_back('"');
}

/// A UUID's text (as `events::to_string` writes it) without a heap string.
struct uuid_text {
  explicit uuid_text(const events::uuid& x) {
    static constexpr char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < x.bytes.size(); ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        buf[n++] = '-';
      buf[n++] = digits[x.bytes[i] >> 4];
      buf[n++] = digits[x.bytes[i] & 0x0F];
    }
  }
  std::string_view view() const {
    return {buf.data(), buf.size()};
  }
  std::array<char, 36> buf{};
};

/// Writes a service record as stored into `out` (cleared first): the layout
/// `load_record` reads, written without building a JSON tree or a string a
/// field (this runs once per changed service and batch, which a rebuild does
/// tens of thousands of times). The state's keys are
/// `service_state::to_json`'s.
void encode_service(fmt::memory_buffer& out, const service_row& row) {
  const auto& st = row.state;
  out.clear();
  auto it = std::back_inserter(out);
  fmt::format_to(
    it,
    FMT_COMPILE(
      R"({{"id":"{}","seq":{},"state":{{"status":{},"provision":{},)"
      R"("pending_op":{},"last_op":{},"job_id":"{}","client_id":"{}",)"
      R"("product_id":"{}","new_product_id":"{}","module":)"),
    row.id, row.seq, static_cast<unsigned>(st.status),
    static_cast<unsigned>(st.provision), static_cast<unsigned>(st.pending_op),
    static_cast<unsigned>(st.last_op), uuid_text{st.job_id}.view(),
    uuid_text{st.client_id}.view(), uuid_text{st.product_id}.view(),
    uuid_text{st.new_product_id}.view());
  append_quoted(out, st.module);
  fmt::format_to(it, FMT_COMPILE(R"(,"last_error":)"));
  append_quoted(out, st.last_error);
  fmt::format_to(it, FMT_COMPILE(R"(,"period":)"));
  append_quoted(out, st.period);
  fmt::format_to(it, FMT_COMPILE(R"(,"label":)"));
  append_quoted(out, st.label);
  if (st.pending_policy)
    fmt::format_to(it, FMT_COMPILE(R"(,"policy":{})"),
                   json::serialize(actors::to_json(*st.pending_policy)));
  fmt::format_to(it, FMT_COMPILE(R"(}},"service_data":{},"next_due_date":)"),
                 row.service_data.empty() ? std::string_view{"{}"}
                                          : std::string_view{row.service_data});
  append_quoted(out, row.next_due_date);
  fmt::format_to(
    it, FMT_COMPILE(R"(,"version":{},"created_us":{},"updated_us":{}}})"),
    row.version, row.created_us, row.updated_us);
}

} // namespace

void provisioning::flush_locked(rocksdb::WriteBatch& batch,
                                rocksdb::ColumnFamilyHandle* cf) {
  // In key order: the memtable then inserts each record next to the last
  // one instead of searching for its place from the top.
  std::sort(dirty_services_.begin(), dirty_services_.end(),
            [](const service_row* a, const service_row* b) {
              return a->id < b->id;
            });
  fmt::memory_buffer value;
  std::string key;
  for (auto* row : dirty_services_) {
    encode_service(value, *row);
    key.assign("s/").append(row->id);
    batch.Put(cf, key, rocksdb::Slice{value.data(), value.size()});
    row->dirty = false;
  }
  dirty_services_.clear();
  for (auto [set, prefix] : {std::pair{&clients_, 'c'}, {&products_, 'p'}}) {
    for (auto* row : set->dirty) {
      json::object o{{"id", row->id},
                     {"seq", row->seq},
                     {"fields", row->fields},
                     {"version", row->version},
                     {"created_us", row->created_us},
                     {"updated_us", row->updated_us}};
      batch.Put(cf, record_key(prefix, row->id), json::serialize(o));
      row->dirty = false;
    }
    set->dirty.clear();
  }
}

caf::error provisioning::load_record(std::string_view key,
                                     std::string_view value) {
  boost::system::error_code ec;
  auto doc = json::parse(value, ec);
  if (ec || !doc.is_object() || key.size() < 3 || key[1] != '/')
    return make_error(billow_errc::corruption,
                      "provisioning: malformed record " + std::string{key});
  const auto& o = doc.get_object();
  auto id = std::string{key.substr(2)};
  if (key[0] == 's') {
    auto& row = *find_or_add_service(id).first;
    row.seq = actors::json_uint(o, "seq");
    if (auto* st = o.if_contains("state"); st && st->is_object())
      row.state = actors::service_state::from_json(st->get_object());
    if (auto* data = o.if_contains("service_data"); data && data->is_object())
      row.service_data = json::serialize(*data);
    row.next_due_date = actors::json_string(o, "next_due_date");
    row.version = actors::json_uint(o, "version");
    row.created_us = json_int(o, "created_us");
    row.updated_us = json_int(o, "updated_us");
    index_service(row);
    return caf::none;
  }
  if (key[0] == 'c' || key[0] == 'p') {
    auto& set = key[0] == 'c' ? clients_ : products_;
    auto& row = set.by_id[id];
    row.id = id;
    row.seq = actors::json_uint(o, "seq");
    if (auto* f = o.if_contains("fields"); f && f->is_object())
      row.fields = f->get_object();
    row.version = actors::json_uint(o, "version");
    row.created_us = json_int(o, "created_us");
    row.updated_us = json_int(o, "updated_us");
    set.by_seq[row.seq] = &row;
    return caf::none;
  }
  return make_error(billow_errc::corruption,
                    "provisioning: unknown record " + std::string{key});
}

std::optional<service_row> provisioning::service(std::string_view id) const {
  std::shared_lock guard{mtx_};
  const auto* row = find_service(id);
  if (row == nullptr)
    return std::nullopt;
  return *row;
}

std::optional<std::string>
provisioning::service_data(std::string_view id) const {
  std::shared_lock guard{mtx_};
  const auto* row = find_service(id);
  if (row == nullptr)
    return std::nullopt;
  return row->service_data;
}

page<service_row> provisioning::services(const service_filter& filter,
                                         uint64_t after, size_t limit) const {
  limit = std::max<size_t>(limit, 1);
  std::shared_lock guard{mtx_};
  auto row_of = [this](uint64_t seq) -> const service_row* {
    auto i = services_by_seq_.find(seq);
    return i == services_by_seq_.end() ? nullptr : i->second;
  };
  // An id that is not a UUID matches no service.
  auto client = events::uuid::parse(filter.client_id);
  auto product = events::uuid::parse(filter.product_id);
  auto keep = [&](const service_row& row) {
    return (!filter.status || row.state.status == *filter.status)
      && (filter.client_id.empty()
          || (client && row.state.client_id == *client))
      && (filter.product_id.empty()
          || (product && row.state.product_id == *product));
  };
  // Walk the narrowest index that applies.
  const std::set<uint64_t>* index = nullptr;
  auto narrow = [&](const std::set<uint64_t>* candidate) {
    if (index == nullptr || candidate->size() < index->size())
      index = candidate;
  };
  static const std::set<uint64_t> none;
  if (!filter.client_id.empty()) {
    auto i = client ? by_client_.find(*client) : by_client_.end();
    narrow(i == by_client_.end() ? &none : &i->second);
  }
  if (!filter.product_id.empty()) {
    auto i = product ? by_product_.find(*product) : by_product_.end();
    narrow(i == by_product_.end() ? &none : &i->second);
  }
  if (filter.status)
    narrow(&by_status_.at(static_cast<size_t>(*filter.status)));
  if (index != nullptr)
    return collect<service_row>(*index, after, limit, row_of, keep);
  page<service_row> out;
  for (auto i = services_by_seq_.upper_bound(after);
       i != services_by_seq_.end(); ++i) {
    if (out.items.size() == limit) {
      out.next_after = out.items.back().seq;
      break;
    }
    out.items.push_back(*i->second);
  }
  return out;
}

page<entity_row> provisioning::entity_page(const entities& set, uint64_t after,
                                           size_t limit) const {
  limit = std::max<size_t>(limit, 1);
  std::shared_lock guard{mtx_};
  page<entity_row> out;
  for (auto i = set.by_seq.upper_bound(after); i != set.by_seq.end(); ++i) {
    if (out.items.size() == limit) {
      out.next_after = out.items.back().seq;
      break;
    }
    out.items.push_back(*i->second);
  }
  return out;
}

page<entity_row> provisioning::clients(uint64_t after, size_t limit) const {
  return entity_page(clients_, after, limit);
}

page<entity_row> provisioning::products(uint64_t after, size_t limit) const {
  return entity_page(products_, after, limit);
}

std::optional<entity_row> provisioning::client(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto it = clients_.by_id.find(id);
  if (it == clients_.by_id.end())
    return std::nullopt;
  return it->second;
}

std::optional<entity_row> provisioning::product(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto it = products_.by_id.find(id);
  if (it == products_.by_id.end())
    return std::nullopt;
  return it->second;
}

std::optional<boost::json::object>
provisioning::product_data(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto it = products_.by_id.find(id);
  if (it == products_.by_id.end())
    return std::nullopt;
  if (auto* data = it->second.fields.if_contains("product_data");
      data && data->is_object())
    return data->as_object();
  return boost::json::object{};
}

std::optional<std::string>
provisioning::product_name(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto it = products_.by_id.find(id);
  if (it == products_.by_id.end())
    return std::nullopt;
  if (auto* name = it->second.fields.if_contains("name");
      name && name->is_string())
    return std::string{name->get_string()};
  return std::string{};
}

size_t provisioning::service_count() const {
  std::shared_lock guard{mtx_};
  return services_by_short_id_.size() + services_by_long_id_.size();
}

} // namespace billow::projections
