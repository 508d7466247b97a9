#include "api/password_pool.hpp"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace billow::api {

namespace {

/// The host of `host:port` (`[v6]:port` or `v6:port` too); as is without a
/// port.
std::string host_of(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos
      || (address.find(':') != colon && address.front() != '['))
    return std::string{address}; // no port, or a bare IPv6 address
  auto host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string{host};
}

/// An Argon2id check takes about this long on one core.
constexpr double seconds_per_task = 0.1;

} // namespace

password_pool::password_pool(std::size_t threads, std::size_t max_queued,
                             std::size_t max_per_address)
  : max_queued_(std::max<std::size_t>(1, max_queued)),
    max_per_address_(std::max<std::size_t>(1, max_per_address)) {
  threads = std::max<std::size_t>(1, threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      run();
    });
}

password_pool::~password_pool() {
  stop();
}

password_pool::admission password_pool::try_submit(std::string_view address,
                                                   std::function<void()> fn) {
  auto host = host_of(address);
  {
    std::lock_guard guard{mtx_};
    if (load_ >= max_queued_ || stopping_)
      return admission::full;
    auto& mine = per_address_[host];
    if (mine >= max_per_address_)
      return admission::address_full;
    ++mine;
    ++load_;
    queue_.push_back({std::move(host), std::move(fn)});
  }
  ready_.notify_one();
  return admission::queued;
}

std::size_t password_pool::load() const {
  std::lock_guard guard{mtx_};
  return load_;
}

unsigned password_pool::retry_after_seconds() const {
  auto busy = static_cast<double>(load());
  auto drain = busy * seconds_per_task / static_cast<double>(threads_.size());
  return std::max(1u, static_cast<unsigned>(drain + 0.999));
}

void password_pool::stop() {
  std::deque<task> dropped; // destroyed after the lock is released
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
    dropped.swap(queue_);
    load_ -= dropped.size();
  }
  dropped.clear();
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

void password_pool::run() {
  std::unique_lock guard{mtx_};
  for (;;) {
    ready_.wait(guard, [this] {
      return stopping_ || !queue_.empty();
    });
    if (queue_.empty())
      return; // stopping, and nothing left to do
    auto t = std::move(queue_.front());
    queue_.pop_front();
    guard.unlock();
    try {
      t.fn();
    } catch (const std::exception& e) {
      spdlog::error("password check failed: {}", e.what());
    }
    t.fn = nullptr; // its captures go before the task counts as done
    guard.lock();
    --load_;
    if (auto i = per_address_.find(t.address); --i->second == 0)
      per_address_.erase(i);
  }
}

} // namespace billow::api
