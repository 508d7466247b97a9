#pragma once

// Argon2id work (login checks, hashes of new passwords) on threads of its
// own, with a bounded queue. Each check costs ~100 ms of a core and 64 MiB
// on purpose; on the shared blocking pool a flood of logins (wrong
// passwords from anyone, no token needed) stalled every store read and
// module call queued behind it, and they stalled logins. Here a flood
// fills at most `max_queued` places (`max_per_address` from one address)
// and is refused at once beyond that, so a login waits behind at most that
// many checks, and the rest of the API not at all.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace billow::api {

class password_pool {
public:
  /// How `try_submit` went.
  enum class admission {
    queued,
    /// `max_queued` tasks are queued or running (answer 503).
    full,
    /// `max_per_address` of them came from this address (answer 429).
    address_full,
  };

  password_pool(std::size_t threads, std::size_t max_queued,
                std::size_t max_per_address);
  /// `stop`s.
  ~password_pool();

  password_pool(const password_pool&) = delete;
  password_pool& operator=(const password_pool&) = delete;

  /// Queues `fn` for `address` (a peer address, `host:port` or a host; the
  /// port is ignored) unless a limit says no.
  admission try_submit(std::string_view address, std::function<void()> fn);

  /// Queued and running tasks.
  std::size_t load() const;

  /// Seconds a refused caller should wait before trying again: the time
  /// the queue takes to drain (at least 1).
  unsigned retry_after_seconds() const;

  /// Drops what is queued (their requests answer 503 as they go), lets the
  /// running tasks finish and joins the threads. Safe more than once.
  void stop();

private:
  struct task {
    std::string address;
    std::function<void()> fn;
  };

  void run();

  std::size_t max_queued_;
  std::size_t max_per_address_;
  mutable std::mutex mtx_;
  std::condition_variable ready_;
  std::deque<task> queue_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::size_t load_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace billow::api
