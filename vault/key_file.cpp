#include "vault/key_file.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <sodium.h>

#include "events/errc.hpp"

namespace billow::vault {

caf::expected<std::string>
load_or_create_key(const std::filesystem::path& path) {
  if (sodium_init() < 0)
    return make_error(billow_errc::internal, "libsodium failed to start");
  constexpr size_t key_bytes = 32;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in{path, std::ios::binary};
    std::string key((std::istreambuf_iterator<char>(in)), {});
    if (key.size() != key_bytes)
      return make_error(billow_errc::corruption,
                        "key file " + path.string() + " has "
                          + std::to_string(key.size()) + " bytes, expected "
                          + std::to_string(key_bytes));
    return key;
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  std::string key(key_bytes, '\0');
  randombytes_buf(key.data(), key.size());
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
    if (!out)
      return make_error(billow_errc::storage_error,
                        "cannot write key file " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return make_error(billow_errc::storage_error,
                      "cannot create key file " + path.string() + ": "
                        + ec.message());
  return key;
}

} // namespace billow::vault
