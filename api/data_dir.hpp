#pragma once

// A data directory's layout, and opening a stopped server's one (the CLI's
// operator tools, tests' setup):
//
//   <data>/log/    the event store's RocksDB database: the log, its indexes,
//                  the read models, kept answers, and the vault's
//                  credentials and data keys
//   <data>/keys/   token.key (signs bearer tokens), seal.key (seals module
//                  secrets, credentials and data keys), idempotency.key

#include <filesystem>
#include <memory>

#include <caf/expected.hpp>

#include "events/event_store.hpp"
#include "vault/vault.hpp"

namespace billow::api {

/// Where the event log lives inside a data directory.
std::filesystem::path log_dir(const std::filesystem::path& data_dir);

/// Where the data directory's keys live.
std::filesystem::path keys_dir(const std::filesystem::path& data_dir);

/// A stopped server's data directory, open: its store, with the vault open
/// over it (reads redact old schemas' credentials; personal values can be
/// revealed).
struct stopped_data_dir {
  std::unique_ptr<events::event_store> store;
  vault::stores vault;
};

/// Opens `data_dir` (made when missing), with the read models' column
/// families when `with_projections`. Fails with `data_dir_locked` while a
/// server runs on it.
caf::expected<std::unique_ptr<stopped_data_dir>>
open_data_dir(const std::filesystem::path& data_dir,
              bool with_projections = false);

} // namespace billow::api
