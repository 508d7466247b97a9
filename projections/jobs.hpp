#pragma once

// The jobs projection: every job as its stream says it is, for the admin job
// list.
//
// Events it reads: `job.*` of streams `job-<id>`, folded by the job
// aggregate's own `job_state::apply` (status queued, running, retrying,
// completed, failed; attempts; failures; result; error).
//
// Read model (column family `proj_jobs`): `j/<id>` one JSON record a job. In
// memory: the records plus indexes by status and by tag.

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/job.hpp"
#include "actors/job_state.hpp"
#include "projections/projection.hpp"

namespace billow::projections {

/// One job in the read model.
struct job_row {
  std::string id;
  /// Position of its first event: the list order.
  uint64_t seq = 0;
  actors::job_state state;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  /// Changed since the last commit (the projection's bookkeeping).
  bool dirty = false;
};

/// Filters of the job list; empty ones match everything.
struct job_filter {
  std::optional<actors::job_status> status;
  std::string tag;
};

class jobs_projection : public projection {
public:
  jobs_projection();

  std::optional<job_row> job(std::string_view id) const;

  /// Jobs matching `filter` after list position `after`, at most `limit`.
  page<job_row> jobs(const job_filter& filter, uint64_t after,
                     size_t limit) const;

  size_t job_count() const;

protected:
  void reset_locked() override;
  caf::error load_record(std::string_view key, std::string_view value) override;
  void apply_locked(const events::envelope& ev) override;
  void flush_locked(rocksdb::WriteBatch& batch,
                    rocksdb::ColumnFamilyHandle* cf) override;

private:
  void index(const job_row& row);
  void unindex(const job_row& row);

  std::unordered_map<std::string, job_row> jobs_;
  std::map<uint64_t, const job_row*> by_seq_;
  std::array<std::set<uint64_t>, 5> by_status_;
  std::unordered_map<std::string, std::set<uint64_t>> by_tag_;
  std::vector<job_row*> dirty_;
};

} // namespace billow::projections
