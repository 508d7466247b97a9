#include "projections/jobs.hpp"

#include <boost/json.hpp>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "events/errc.hpp"
#include "projections/json_scratch.hpp"

namespace billow::projections {

namespace json = boost::json;

namespace {

constexpr std::string_view job_prefix = "job-";

int64_t json_int(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && (v->is_int64() || v->is_uint64()))
    return v->to_number<int64_t>();
  return 0;
}

} // namespace

jobs_projection::jobs_projection() : projection("jobs") {
  // nop
}

void jobs_projection::reset_locked() {
  jobs_.clear();
  by_seq_.clear();
  for (auto& s : by_status_)
    s.clear();
  by_tag_.clear();
  dirty_.clear();
}

void jobs_projection::index(const job_row& row) {
  by_seq_[row.seq] = &row;
  by_status_.at(static_cast<size_t>(row.state.view.status)).insert(row.seq);
  for (const auto& tag : row.state.view.tags)
    by_tag_[tag].insert(row.seq);
}

void jobs_projection::unindex(const job_row& row) {
  by_status_.at(static_cast<size_t>(row.state.view.status)).erase(row.seq);
  for (const auto& tag : row.state.view.tags) {
    auto i = by_tag_.find(tag);
    if (i == by_tag_.end())
      continue;
    i->second.erase(row.seq);
    if (i->second.empty())
      by_tag_.erase(i);
  }
}

void jobs_projection::apply_locked(const events::envelope& ev) {
  std::string_view stream = ev.stream;
  if (stream.substr(0, job_prefix.size()) != job_prefix)
    return;
  json_scratch scratch;
  auto* payload = scratch.parse_object(ev.payload);
  if (payload == nullptr) {
    spdlog::warn("jobs projection: bad payload at position {}", ev.position);
    return;
  }
  auto [it, fresh]
    = jobs_.try_emplace(std::string{stream.substr(job_prefix.size())});
  auto& row = it->second;
  if (fresh) {
    row.id = it->first;
    row.seq = ev.position;
    row.created_us = ev.time_us;
  } else {
    unindex(row);
  }
  actors::job_state::apply(row.state, ev.type, *payload);
  if (row.state.view.job_id.is_nil())
    if (auto id = events::uuid::parse(row.id))
      row.state.view.job_id = *id;
  row.state.view.version = ev.version;
  row.updated_us = ev.time_us;
  index(row);
  if (!row.dirty) {
    row.dirty = true;
    dirty_.push_back(&row);
  }
}

void jobs_projection::flush_locked(rocksdb::WriteBatch& batch,
                                   rocksdb::ColumnFamilyHandle* cf) {
  for (auto* row : dirty_) {
    json::object o{{"seq", row->seq},
                   {"state", row->state.to_json()},
                   {"version", row->state.view.version},
                   {"created_us", row->created_us},
                   {"updated_us", row->updated_us}};
    batch.Put(cf, record_key('j', row->id), json::serialize(o));
    row->dirty = false;
  }
  dirty_.clear();
}

caf::error jobs_projection::load_record(std::string_view key,
                                        std::string_view value) {
  boost::system::error_code ec;
  auto doc = json::parse(value, ec);
  if (ec || !doc.is_object() || key.size() < 3 || key.substr(0, 2) != "j/")
    return make_error(billow_errc::corruption,
                      "jobs projection: malformed record " + std::string{key});
  const auto& o = doc.get_object();
  auto id = std::string{key.substr(2)};
  auto& row = jobs_[id];
  row.id = id;
  row.seq = actors::json_uint(o, "seq");
  if (auto* st = o.if_contains("state"); st && st->is_object())
    row.state = actors::job_state::from_json(st->get_object());
  row.state.view.version = actors::json_uint(o, "version");
  row.created_us = json_int(o, "created_us");
  row.updated_us = json_int(o, "updated_us");
  index(row);
  return caf::none;
}

std::optional<job_row> jobs_projection::job(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = jobs_.find(std::string{id});
  if (i == jobs_.end())
    return std::nullopt;
  return i->second;
}

page<job_row> jobs_projection::jobs(const job_filter& filter, uint64_t after,
                                    size_t limit) const {
  limit = std::max<size_t>(limit, 1);
  std::shared_lock guard{mtx_};
  auto keep = [&](const job_row& row) {
    const auto& v = row.state.view;
    return (!filter.status || v.status == *filter.status)
      && (filter.tag.empty()
          || std::find(v.tags.begin(), v.tags.end(), filter.tag)
            != v.tags.end());
  };
  static const std::set<uint64_t> none;
  const std::set<uint64_t>* index = nullptr;
  if (!filter.tag.empty()) {
    auto i = by_tag_.find(filter.tag);
    index = i == by_tag_.end() ? &none : &i->second;
  }
  if (filter.status) {
    auto* s = &by_status_.at(static_cast<size_t>(*filter.status));
    if (index == nullptr || s->size() < index->size())
      index = s;
  }
  page<job_row> out;
  auto take = [&](const job_row* row) {
    if (row == nullptr || !keep(*row))
      return true;
    if (out.items.size() == limit) {
      out.next_after = out.items.back().seq;
      return false;
    }
    out.items.push_back(*row);
    return true;
  };
  if (index != nullptr) {
    for (auto i = index->upper_bound(after); i != index->end(); ++i) {
      auto r = by_seq_.find(*i);
      if (!take(r == by_seq_.end() ? nullptr : r->second))
        break;
    }
  } else {
    for (auto i = by_seq_.upper_bound(after); i != by_seq_.end(); ++i)
      if (!take(i->second))
        break;
  }
  return out;
}

size_t jobs_projection::job_count() const {
  std::shared_lock guard{mtx_};
  return jobs_.size();
}

} // namespace billow::projections
