#include "events/prefetch.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "events/event_store.hpp"

namespace billow::events {

namespace {

/// Envelopes decoded by the helper, in log order.
struct chunk {
  std::vector<envelope> events;
  size_t size = 0;
};

/// The hand-over between the helper (producer) and the caller (consumer):
/// full chunks one way, emptied ones back, so envelopes keep their string
/// buffers and nothing is allocated per event once warm.
class chunk_queue {
public:
  explicit chunk_queue(size_t chunks) : all_(std::max<size_t>(chunks, 1)) {
    for (auto& c : all_)
      free_.push_back(&c);
  }

  /// Producer: an empty chunk, or null once the consumer has stopped.
  chunk* take_free() {
    std::unique_lock guard{mtx_};
    changed_.wait(guard, [&] {
      return stopped_ || !free_.empty();
    });
    if (stopped_)
      return nullptr;
    auto* c = free_.front();
    free_.pop_front();
    c->size = 0;
    return c;
  }

  /// Producer: hands a chunk over (an empty one is fine).
  void put_full(chunk* c) {
    {
      std::lock_guard guard{mtx_};
      full_.push_back(c);
    }
    changed_.notify_all();
  }

  /// Producer: no more chunks; `err` is the read's outcome.
  void finish(caf::error err) {
    {
      std::lock_guard guard{mtx_};
      finished_ = true;
      error_ = std::move(err);
    }
    changed_.notify_all();
  }

  /// Consumer: the next full chunk, or null when the producer finished.
  chunk* take_full() {
    std::unique_lock guard{mtx_};
    changed_.wait(guard, [&] {
      return finished_ || !full_.empty();
    });
    if (full_.empty())
      return nullptr;
    auto* c = full_.front();
    full_.pop_front();
    return c;
  }

  /// Consumer: gives a consumed chunk back.
  void put_free(chunk* c) {
    {
      std::lock_guard guard{mtx_};
      free_.push_back(c);
    }
    changed_.notify_all();
  }

  /// Consumer: wants no more; the producer ends at its next hand-over.
  void stop() {
    {
      std::lock_guard guard{mtx_};
      stopped_ = true;
    }
    changed_.notify_all();
  }

  caf::error take_error() {
    std::lock_guard guard{mtx_};
    return std::move(error_);
  }

private:
  std::vector<chunk> all_;
  std::mutex mtx_;
  std::condition_variable changed_;
  std::deque<chunk*> free_;
  std::deque<chunk*> full_;
  bool finished_ = false;
  bool stopped_ = false;
  caf::error error_;
};

} // namespace

caf::error for_each_prefetched(const event_store& store, uint64_t from,
                               uint64_t to,
                               const std::function<bool(const envelope&)>& fn,
                               prefetch_options opts) {
  auto per_chunk = std::max<size_t>(opts.chunk_events, 1);
  chunk_queue queue{opts.chunks};
  std::thread helper{[&] {
    auto* current = queue.take_free();
    if (current == nullptr)
      return queue.finish(caf::none);
    // Each decoded envelope is swapped into the chunk: the store decodes
    // the next event into the buffers of the one consumed there before.
    auto err = store.for_each_taking(from, to, [&](envelope& x) {
      auto& c = *current;
      if (c.size == c.events.size())
        c.events.emplace_back();
      std::swap(c.events[c.size++], x);
      if (c.size < per_chunk)
        return true;
      queue.put_full(current);
      current = queue.take_free();
      return current != nullptr;
    });
    if (current != nullptr)
      queue.put_full(current);
    queue.finish(std::move(err));
  }};
  // However the consumer leaves (done, stopped, or `fn` threw), the helper
  // is told and joined.
  struct stop_and_join {
    chunk_queue& queue;
    std::thread& helper;
    ~stop_and_join() {
      queue.stop();
      helper.join();
    }
  };
  bool wanted = true;
  {
    stop_and_join guard{queue, helper};
    while (wanted) {
      auto* c = queue.take_full();
      if (c == nullptr)
        break;
      for (size_t i = 0; wanted && i < c->size; ++i)
        wanted = fn(c->events[i]);
      queue.put_free(c);
    }
  }
  // Events after a read error were never decoded; the ones before it all
  // reached `fn` (unless it stopped first, and then the error is moot).
  auto err = queue.take_error();
  return wanted ? std::move(err) : caf::none;
}

} // namespace billow::events
