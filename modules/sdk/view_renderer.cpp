#include "modules/sdk/view_renderer.hpp"

#include <fstream>
#include <optional>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <kainjow/mustache.hpp>

#include "events/errc.hpp"

namespace billow::modules::sdk {

namespace {

namespace mst = kainjow::mustache;

mst::data to_mustache(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      mst::data out{mst::data::type::object};
      for (const auto& [key, val] : v.get_object())
        out.set(std::string{key}, to_mustache(val));
      return out;
    }
    case boost::json::kind::array: {
      mst::data out{mst::data::type::list};
      for (const auto& val : v.get_array())
        out.push_back(to_mustache(val));
      return out;
    }
    case boost::json::kind::string:
      return mst::data{std::string{v.get_string()}};
    case boost::json::kind::bool_: return mst::data{v.get_bool()};
    case boost::json::kind::null: return mst::data{false};
    default: return mst::data{boost::json::serialize(v)};
  }
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

view_renderer::view_renderer(std::filesystem::path module_dir,
                             std::string lang_code)
  : module_dir_(std::move(module_dir)), lang_code_(std::move(lang_code)) {
  // nop
}

caf::expected<boost::json::object> view_renderer::lang_strings() const {
  for (const auto& code : {lang_code_, std::string{"en"}}) {
    if (code.empty() || code.find('/') != std::string::npos
        || code.find('.') != std::string::npos)
      continue;
    auto text = read_file(module_dir_ / "lang" / (code + ".json"));
    if (!text)
      continue;
    boost::system::error_code ec;
    auto doc = boost::json::parse(*text, ec);
    if (ec || !doc.is_object())
      return make_error(billow_errc::invalid_argument,
                        "lang/" + code + ".json is not a JSON object");
    return std::move(doc.get_object());
  }
  return boost::json::object{};
}

caf::expected<std::string>
view_renderer::render_text(const std::string& template_text,
                           const boost::json::object& data) const {
  auto strings = lang_strings();
  if (!strings)
    return std::move(strings.error());
  mst::mustache tmpl{template_text};
  if (!tmpl.is_valid())
    return make_error(billow_errc::invalid_argument,
                      "template does not parse: " + tmpl.error_message());
  auto ctx = to_mustache(data);
  if (!data.contains("lang"))
    ctx.set("lang", to_mustache(*strings));
  auto out = tmpl.render(ctx);
  if (!tmpl.is_valid())
    return make_error(billow_errc::invalid_argument,
                      "template failed to render: " + tmpl.error_message());
  return out;
}

caf::expected<std::string>
view_renderer::render(std::string_view name,
                      const boost::json::object& data) const {
  if (name.empty() || name.find('/') != std::string_view::npos
      || name.find("..") != std::string_view::npos)
    return make_error(billow_errc::invalid_argument,
                      "bad template name '" + std::string{name} + "'");
  std::string rel{name};
  for (auto& c : rel)
    if (c == '.')
      c = '/';
  auto path = module_dir_ / "views" / (rel + ".mustache");
  auto text = read_file(path);
  if (!text)
    return make_error(billow_errc::not_found,
                      "template not found: " + path.string());
  return render_text(*text, data);
}

} // namespace billow::modules::sdk
