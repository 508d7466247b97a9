#include "modules/sdk/manifest.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "events/errc.hpp"

namespace billow::modules::sdk {

std::string_view to_string(module_type x) {
  switch (x) {
    case module_type::product: return "Product";
    case module_type::plugin: return "Plugin";
    case module_type::payment: return "Payment";
    case module_type::notification: return "Notification";
  }
  return "Unknown";
}

std::optional<module_type> parse_module_type(std::string_view text) {
  for (auto t : {module_type::product, module_type::plugin,
                 module_type::payment, module_type::notification})
    if (to_string(t) == text)
      return t;
  return std::nullopt;
}

std::optional<semantic_version> parse_version(std::string_view text) {
  semantic_version v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  size_t i = 0;
  auto pos = text.data();
  auto end = text.data() + text.size();
  if (text.empty())
    return std::nullopt;
  while (true) {
    if (i == 3)
      return std::nullopt;
    auto [ptr, ec] = std::from_chars(pos, end, *parts[i]);
    if (ec != std::errc{} || ptr == pos || *parts[i] < 0)
      return std::nullopt;
    ++i;
    if (ptr == end)
      return v;
    if (*ptr != '.')
      return std::nullopt;
    pos = ptr + 1;
  }
}

std::string to_string(const semantic_version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "."
    + std::to_string(v.patch);
}

namespace {

caf::error bad_field(std::string_view field, std::string_view why) {
  return make_error(billow_errc::invalid_argument,
                    "module.json: " + std::string{field} + " "
                      + std::string{why});
}

caf::expected<std::string> string_field(const boost::json::object& obj,
                                        std::string_view key, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required)
      return bad_field(key, "is missing");
    return std::string{};
  }
  if (!it->value().is_string())
    return bad_field(key, "must be a string");
  return std::string{it->value().get_string()};
}

} // namespace

caf::expected<module_manifest> parse_manifest(std::string_view json_text) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(json_text, ec);
  if (ec)
    return make_error(billow_errc::invalid_argument,
                      "module.json is not valid JSON: " + ec.message());
  if (!doc.is_object())
    return make_error(billow_errc::invalid_argument,
                      "module.json must hold a JSON object");
  const auto& obj = doc.get_object();
  module_manifest m;
  auto name = string_field(obj, "name", true);
  if (!name)
    return std::move(name.error());
  if (name->empty())
    return bad_field("name", "is empty");
  m.name = std::move(*name);
  auto type = string_field(obj, "type", true);
  if (!type)
    return std::move(type.error());
  auto parsed_type = parse_module_type(*type);
  if (!parsed_type)
    return make_error(billow_errc::invalid_argument,
                      "unknown type '" + *type
                        + "' (expected Product, Plugin, Payment or "
                          "Notification)");
  m.type = *parsed_type;
  auto version = string_field(obj, "version", true);
  if (!version)
    return std::move(version.error());
  if (!parse_version(*version))
    return bad_field("version", "is not a version like 1.2.3");
  m.version = std::move(*version);
  auto sdk = string_field(obj, "sdk_version", true);
  if (!sdk)
    return std::move(sdk.error());
  auto sdk_v = parse_version(*sdk);
  if (!sdk_v)
    return bad_field("sdk_version", "is not a version like 1.0");
  m.sdk_version = *sdk_v;
  auto description = string_field(obj, "description", false);
  if (!description)
    return std::move(description.error());
  m.description = std::move(*description);
  auto author = string_field(obj, "author", false);
  if (!author)
    return std::move(author.error());
  m.author = std::move(*author);
  if (auto it = obj.find("hooks"); it != obj.end()) {
    if (!it->value().is_array())
      return bad_field("hooks", "must be an array of event types");
    for (const auto& h : it->value().get_array()) {
      if (!h.is_string())
        return bad_field("hooks", "must be an array of event types");
      m.hooks.emplace_back(h.get_string());
    }
  }
  return m;
}

caf::expected<module_manifest>
read_manifest(const std::filesystem::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return make_error(billow_errc::not_found,
                      "module.json missing: " + file.string());
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_manifest(buf.str());
}

boost::json::object to_json(const module_manifest& m) {
  boost::json::object obj;
  obj["name"] = m.name;
  obj["type"] = to_string(m.type);
  obj["version"] = m.version;
  obj["description"] = m.description;
  obj["author"] = m.author;
  obj["sdk_version"] = std::to_string(m.sdk_version.major) + "."
    + std::to_string(m.sdk_version.minor);
  if (!m.hooks.empty()) {
    boost::json::array hooks;
    for (const auto& h : m.hooks)
      hooks.emplace_back(h);
    obj["hooks"] = std::move(hooks);
  }
  return obj;
}

} // namespace billow::modules::sdk
