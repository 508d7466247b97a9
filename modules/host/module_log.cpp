#include "modules/host/module_log.hpp"

#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/sdk/secret_box.hpp"

namespace billow::modules {

namespace {

/// Sink -> drain actor: records are waiting.
using log_kick_atom = caf::atom_constant<caf::atom("mlog_kick")>;

struct drops {
  uint64_t debug = 0;
  uint64_t info = 0;
  uint64_t error = 0;
};

} // namespace

/// What the sink and its drain actor share.
struct event_log_sink::shared {
  /// One queued record: its stream and the event to append.
  struct item {
    std::string stream;
    events::new_event event;
  };

  size_t capacity = 0;
  mutable std::mutex mtx;
  std::deque<item> queue;
  /// Dropped records per stream since the last round, and each stream's
  /// actor (for the `module.log_dropped` event).
  std::map<std::string, std::pair<std::string, drops>> dropped;
  /// True while the drain actor has a kick or a round outstanding.
  bool kicked = false;
  size_t in_flight = 0;
  caf::actor drain;
  log_sink_stats stats;
};

namespace {

using shared_ptr = std::shared_ptr<event_log_sink::shared>;

/// Counts one dropped record (mutex held).
void count_drop(event_log_sink::shared& sh, const std::string& stream,
                const std::string& actor, sdk::log_level level) {
  auto& [who, d] = sh.dropped[stream];
  who = actor;
  switch (level) {
    case sdk::log_level::debug:
      ++d.debug;
      ++sh.stats.dropped_debug;
      break;
    case sdk::log_level::info:
      ++d.info;
      ++sh.stats.dropped_info;
      break;
    case sdk::log_level::error:
      ++d.error;
      ++sh.stats.dropped_error;
      break;
  }
}

/// Sends everything queued to the writer, one append per stream; kicks
/// itself again when more arrived meanwhile.
void drain_round(caf::event_based_actor* self, const shared_ptr& sh,
                 const events::writer_actor& writer) {
  std::map<std::string, std::vector<events::new_event>> by_stream;
  {
    std::lock_guard guard{sh->mtx};
    for (auto& [stream, actor_drops] : sh->dropped) {
      auto& [actor, d] = actor_drops;
      events::new_event ev;
      ev.event_id = events::uuid::random();
      ev.type = "module.log_dropped";
      ev.actor = actor;
      ev.payload = boost::json::serialize(boost::json::object{
        {"debug", d.debug}, {"info", d.info}, {"error", d.error}});
      by_stream[stream].push_back(std::move(ev));
    }
    sh->dropped.clear();
    for (auto& x : sh->queue)
      by_stream[x.stream].push_back(std::move(x.event));
    sh->in_flight = sh->queue.size();
    sh->queue.clear();
    if (by_stream.empty()) {
      sh->kicked = false;
      return;
    }
  }
  auto outstanding = std::make_shared<size_t>(by_stream.size());
  auto done = [self, sh, outstanding] {
    if (--*outstanding > 0)
      return;
    std::lock_guard guard{sh->mtx};
    sh->in_flight = 0;
    if (sh->queue.empty() && sh->dropped.empty())
      sh->kicked = false;
    else
      self->send(self, log_kick_atom::value);
  };
  for (auto& [stream, evs] : by_stream) {
    auto n = evs.size();
    self
      ->request(writer, caf::infinite, events::append_atom::value, stream,
                events::expected_version::any(), std::move(evs))
      .then(
        [sh, n, done](const events::append_result&) {
          {
            std::lock_guard guard{sh->mtx};
            sh->stats.appended += n;
          }
          done();
        },
        [sh, n, stream = stream, done](caf::error& err) {
          spdlog::error("module log: {} records for {} lost: {}", n, stream,
                        to_string(err));
          {
            std::lock_guard guard{sh->mtx};
            sh->stats.append_errors += 1;
          }
          done();
        });
  }
}

caf::behavior drain_impl(caf::event_based_actor* self, const shared_ptr& sh,
                         const events::writer_actor& writer) {
  return {
    [self, sh, writer](log_kick_atom) {
      drain_round(self, sh, writer);
    },
  };
}

} // namespace

event_log_sink::event_log_sink(caf::actor_system& sys,
                               events::writer_actor writer, size_t capacity)
  : shared_(std::make_shared<shared>()) {
  shared_->capacity = std::max<size_t>(2, capacity);
  drain_ = sys.spawn(drain_impl, shared_, std::move(writer));
  shared_->drain = drain_;
}

event_log_sink::~event_log_sink() {
  stop();
}

void event_log_sink::stop() {
  caf::actor drain;
  {
    std::lock_guard guard{shared_->mtx};
    drain = std::move(shared_->drain);
    shared_->drain = nullptr;
  }
  if (drain)
    caf::anon_send_exit(drain, caf::exit_reason::user_shutdown);
  drain_ = nullptr;
}

void event_log_sink::write(const sdk::log_record& r) noexcept {
  try {
    auto stream = module_catalog::stream_of(r.module_type, r.module_name);
    auto actor = fmt::format("module:{}/{}", r.module_type, r.module_name);
    auto level = std::string{sdk::to_string(r.level)};
    {
      // Decide on the drop before paying for the payload.
      std::lock_guard guard{shared_->mtx};
      auto limit = r.level == sdk::log_level::debug ? shared_->capacity / 2
                                                    : shared_->capacity;
      if (!shared_->drain || shared_->queue.size() >= limit) {
        count_drop(*shared_, stream, actor, r.level);
        return;
      }
    }
    boost::json::value context = r.data;
    sdk::redact_secrets(context); // again: not every writer is a context
    events::new_event ev;
    ev.event_id = events::uuid::random();
    ev.type = "module.log";
    ev.actor = std::move(actor);
    ev.payload = boost::json::serialize(boost::json::object{
      {"level", level},
      {"action", r.action},
      {"message", r.message},
      {"context", std::move(context)},
    });
    caf::actor kick;
    {
      std::lock_guard guard{shared_->mtx};
      if (shared_->queue.size() >= shared_->capacity) {
        // Filled up by other threads meanwhile.
        count_drop(*shared_, stream, ev.actor, r.level);
        return;
      }
      shared_->queue.push_back({std::move(stream), std::move(ev)});
      ++shared_->stats.queued;
      if (!shared_->kicked && shared_->drain) {
        shared_->kicked = true;
        kick = shared_->drain;
      }
    }
    if (kick)
      caf::anon_send(kick, log_kick_atom::value);
  } catch (...) {
    // Out of memory or a broken record: losing one log line beats throwing
    // into module code.
    std::lock_guard guard{shared_->mtx};
    ++shared_->stats.dropped_error;
  }
}

log_sink_stats event_log_sink::stats() const {
  std::lock_guard guard{shared_->mtx};
  return shared_->stats;
}

size_t event_log_sink::pending() const {
  std::lock_guard guard{shared_->mtx};
  return shared_->queue.size() + shared_->in_flight;
}

} // namespace billow::modules
