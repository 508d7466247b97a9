#include "api/data_dir.hpp"

#include "events/errc.hpp"
#include "projections/known.hpp"

namespace billow::api {

std::filesystem::path log_dir(const std::filesystem::path& data_dir) {
  return data_dir / "log";
}

std::filesystem::path keys_dir(const std::filesystem::path& data_dir) {
  return data_dir / "keys";
}

caf::expected<std::unique_ptr<stopped_data_dir>>
open_data_dir(const std::filesystem::path& data_dir, bool with_projections) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return make_error(billow_errc::storage_error,
                      "cannot create data directory " + data_dir.string() + ": "
                        + ec.message());
  events::store_options opts;
  opts.dir = log_dir(data_dir).string();
  if (with_projections)
    opts.extra_column_families = projections::projection_column_families();
  for (auto& name : vault::vault_column_families())
    opts.extra_column_families.push_back(std::move(name));
  auto store = events::event_store::open(std::move(opts));
  if (!store)
    return std::move(store.error());
  auto out = std::make_unique<stopped_data_dir>();
  out->store = std::move(*store);
  auto v = vault::open_vault(*out->store, keys_dir(data_dir));
  if (!v)
    return std::move(v.error());
  out->vault = std::move(*v);
  return out;
}

} // namespace billow::api
