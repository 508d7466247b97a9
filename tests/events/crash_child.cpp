// The child of the crash test: appends through the writer actor from many
// concurrent appenders until it is killed, printing one line per
// acknowledged append on stdout:
//
//   ack <command uuid> <event count> <first position> <last position>
//
// Usage: events_crash_child <data dir> <appenders>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/runtime.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"

using namespace billow;
using namespace billow::events;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <dir> <appenders>\n", argv[0]);
    return 2;
  }
  store_options opts;
  opts.dir = argv[1];
  auto store = event_store::open(opts);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", to_string(store.error()).c_str());
    return 1;
  }
  actors::runtime_options ro;
  ro.scheduler_threads = 2;
  auto cfg = actors::make_actor_system_config(ro);
  caf::actor_system sys{*cfg};
  auto writer = make_writer(sys, **store);
  auto appenders = std::atoi(argv[2]);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(std::max(appenders, 0)));
  for (int a = 0; a < appenders; ++a)
    threads.emplace_back([&, a] {
      caf::scoped_actor self{sys};
      for (unsigned k = 0;; ++k) {
        auto cmd = to_string(uuid::random());
        auto n = 1 + (k + static_cast<unsigned>(a)) % 4;
        std::vector<new_event> events;
        for (unsigned i = 0; i < n; ++i) {
          new_event x;
          x.event_id = uuid::random();
          x.type = "crash.test";
          x.actor = "system";
          x.payload = "{\"cmd\":\"" + cmd + "\",\"n\":" + std::to_string(n)
            + ",\"i\":" + std::to_string(i) + "}";
          events.push_back(std::move(x));
        }
        auto stream = "crash-" + std::to_string(a) + "-"
          + std::to_string(k % 7);
        self
          ->request(writer, caf::infinite, append_atom::value, stream,
                    expected_version::any(), std::move(events))
          .receive(
            [&](const append_result& r) {
              char line[160];
              auto len = std::snprintf(
                line, sizeof(line), "ack %s %u %llu %llu\n", cmd.c_str(), n,
                static_cast<unsigned long long>(r.first_position),
                static_cast<unsigned long long>(r.last_position));
              // One write per line: atomic on a pipe (< PIPE_BUF).
              if (::write(STDOUT_FILENO, line, static_cast<size_t>(len)) < 0)
                std::_Exit(3);
            },
            [&](caf::error& err) {
              std::fprintf(stderr, "append failed: %s\n",
                           to_string(err).c_str());
              std::_Exit(4);
            });
      }
    });
  for (auto& t : threads)
    t.join();
}
