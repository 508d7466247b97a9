#include "billing_document/invoice_pdf.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include "events/errc.hpp"

namespace billow::billing {

namespace {

// -- page geometry (PDF points)
// ------------------------------------------------
//
//   +-------------------------------------------+  A4: 595.276 x 841.89
//   |  title, number          seller block      |  first page only
//   |  bill to: buyer block   dates, status     |
//   |  Description        Period       Amount   |  table header, repeated
//   |  ...                                      |  on every page it spans
//   |                       Subtotal ... Total  |
//   |  reverse charge, payments, notes          |
//   |              number · Page n              |  footer, every page
//   +-------------------------------------------+

constexpr double page_width = 595.276;
constexpr double page_height = 841.89;
constexpr double margin_x = 48;
constexpr double margin_top = 48;
constexpr double content_width = page_width - 2 * margin_x;
/// Content ends here; below it sits the footer.
constexpr double content_bottom = page_height - 60;
constexpr double footer_y = page_height - 40;
constexpr double amount_width = 100;
constexpr double period_width = 130;
constexpr double row_padding = 3;

constexpr const char* font_family = "DejaVu Sans, Sans";

enum class style { body, small, bold, heading, title };

struct rgb {
  double r, g, b;
};

constexpr rgb black{0.1, 0.1, 0.1};
constexpr rgb grey{0.42, 0.42, 0.42};
constexpr rgb rule_grey{0.8, 0.8, 0.8};

// -- owning handles
// --------------------------------------------------------------

struct surface_deleter {
  void operator()(cairo_surface_t* p) const noexcept {
    cairo_surface_destroy(p);
  }
};
struct cairo_deleter {
  void operator()(cairo_t* p) const noexcept {
    cairo_destroy(p);
  }
};
struct gobject_deleter {
  void operator()(void* p) const noexcept {
    g_object_unref(p);
  }
};
struct font_description_deleter {
  void operator()(PangoFontDescription* p) const noexcept {
    pango_font_description_free(p);
  }
};
struct font_options_deleter {
  void operator()(cairo_font_options_t* p) const noexcept {
    cairo_font_options_destroy(p);
  }
};

using surface_ptr = std::unique_ptr<cairo_surface_t, surface_deleter>;
using cairo_ptr = std::unique_ptr<cairo_t, cairo_deleter>;
using context_ptr = std::unique_ptr<PangoContext, gobject_deleter>;
using layout_ptr = std::unique_ptr<PangoLayout, gobject_deleter>;
using font_ptr
  = std::unique_ptr<PangoFontDescription, font_description_deleter>;
using font_options_ptr
  = std::unique_ptr<cairo_font_options_t, font_options_deleter>;

/// Cairo's write callback: appends the PDF's bytes to a std::string.
cairo_status_t append_bytes(void* closure, const unsigned char* data,
                            unsigned int length) {
  try {
    static_cast<std::string*>(closure)->append(
      reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
  } catch (...) {
    return CAIRO_STATUS_WRITE_ERROR;
  }
}

caf::error cairo_error(cairo_status_t status) {
  return make_error(billow_errc::internal,
                    std::string{"cairo: "} + cairo_status_to_string(status));
}

// -- input validation
// ------------------------------------------------------------

bool valid_utf8(std::string_view s) {
  return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr);
}

bool valid_utf8(const invoice_party& p) {
  return valid_utf8(p.name) && valid_utf8(p.tax_id) && valid_utf8(p.email)
    && valid_utf8(p.country)
    && std::all_of(p.address.begin(), p.address.end(),
                   [](const std::string& s) {
                     return valid_utf8(s);
                   });
}

bool valid_utf8(const invoice_document& d) {
  for (const auto* s :
       {&d.title, &d.number, &d.issue_date, &d.due_date, &d.status, &d.currency,
        &d.subtotal, &d.total, &d.amount_paid, &d.amount_due, &d.notes})
    if (!valid_utf8(*s))
      return false;
  if ((d.paid_date && !valid_utf8(*d.paid_date))
      || (d.refers_to && !valid_utf8(*d.refers_to)) || !valid_utf8(d.seller)
      || !valid_utf8(d.buyer))
    return false;
  for (const auto& l : d.lines)
    if (!valid_utf8(l.description) || !valid_utf8(l.amount)
        || (l.period && !valid_utf8(*l.period)))
      return false;
  for (const auto& t : d.taxes)
    if (!valid_utf8(t.name) || !valid_utf8(t.rate) || !valid_utf8(t.amount))
      return false;
  for (const auto& p : d.payments)
    if (!valid_utf8(p.date) || !valid_utf8(p.gateway)
        || !valid_utf8(p.transaction_id) || !valid_utf8(p.amount))
      return false;
  return true;
}

// -- the renderer
// ----------------------------------------------------------------

/// Draws one document onto a PDF context, top to bottom, breaking pages when
/// the next block does not fit.
class renderer {
public:
  renderer(cairo_t* cr, PangoContext* ctx, const invoice_document& doc)
    : cr_(cr), doc_(doc) {
    for (auto s : {style::body, style::small, style::bold, style::heading,
                   style::title}) {
      font_ptr font{pango_font_description_from_string(font_family)};
      switch (s) {
        case style::body:
          pango_font_description_set_size(font.get(), 9 * PANGO_SCALE);
          break;
        case style::small:
          pango_font_description_set_size(font.get(), 7.5 * PANGO_SCALE);
          break;
        case style::bold:
          pango_font_description_set_size(font.get(), 9 * PANGO_SCALE);
          pango_font_description_set_weight(font.get(), PANGO_WEIGHT_BOLD);
          break;
        case style::heading:
          pango_font_description_set_size(font.get(), 11 * PANGO_SCALE);
          pango_font_description_set_weight(font.get(), PANGO_WEIGHT_BOLD);
          break;
        case style::title:
          pango_font_description_set_size(font.get(), 22 * PANGO_SCALE);
          pango_font_description_set_weight(font.get(), PANGO_WEIGHT_BOLD);
          break;
      }
      auto& layout = layouts_[static_cast<size_t>(s)];
      layout.reset(pango_layout_new(ctx));
      pango_layout_set_font_description(layout.get(), font.get());
      pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    }
    has_periods_ = std::any_of(doc.lines.begin(), doc.lines.end(),
                               [](const auto& l) {
                                 return l.period;
                               });
  }

  void run() {
    header();
    parties();
    lines();
    totals();
    reverse_charge();
    payments();
    notes();
    footer();
  }

private:
  /// Lays `text` out in `width` points and returns its height; draws it at
  /// (x, y) unless `draw` is false.
  double text(std::string_view text, style s, double x, double y, double width,
              PangoAlignment align = PANGO_ALIGN_LEFT, rgb color = black,
              bool draw = true) {
    auto* layout = layouts_[static_cast<size_t>(s)].get();
    pango_layout_set_text(layout, text.data(), static_cast<int>(text.size()));
    pango_layout_set_width(layout, static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_alignment(layout, align);
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    if (draw) {
      cairo_set_source_rgb(cr_, color.r, color.g, color.b);
      cairo_move_to(cr_, x, y);
      pango_cairo_show_layout(cr_, layout);
    }
    return static_cast<double>(h) / PANGO_SCALE;
  }

  double measure(std::string_view s, style st, double width) {
    return text(s, st, 0, 0, width, PANGO_ALIGN_LEFT, black, false);
  }

  /// A horizontal line at `y` from `x0` to the right margin.
  void rule(double y, rgb color = rule_grey, double width = 0.5,
            double x0 = margin_x) {
    cairo_set_source_rgb(cr_, color.r, color.g, color.b);
    cairo_set_line_width(cr_, width);
    cairo_move_to(cr_, x0, y);
    cairo_line_to(cr_, margin_x + content_width, y);
    cairo_stroke(cr_);
  }

  /// Starts a new page when `height` more points do not fit on this one.
  void ensure(double height) {
    if (y_ + height <= content_bottom || y_ <= first_content_y_)
      return;
    footer();
    cairo_show_page(cr_);
    ++page_;
    y_ = margin_top;
    auto cont = doc_.title + " " + doc_.number + " (continued)";
    y_ += text(cont, style::small, margin_x, y_, content_width,
               PANGO_ALIGN_LEFT, grey)
      + 10;
    first_content_y_ = y_;
    if (repeat_header_)
      repeat_header_();
  }

  void footer() {
    auto s = doc_.number + " · Page " + std::to_string(page_);
    text(s, style::small, margin_x, footer_y, content_width, PANGO_ALIGN_CENTER,
         grey);
  }

  void header() {
    y_ = margin_top;
    double left = text(doc_.title, style::title, margin_x, y_,
                       content_width / 2);
    left += text(doc_.number, style::heading, margin_x, y_ + left + 2,
                 content_width / 2)
      + 2;
    double right = party(doc_.seller, margin_x + content_width / 2, y_,
                         content_width / 2, PANGO_ALIGN_RIGHT, {});
    y_ += std::max(left, right) + 24;
  }

  /// Prints a party block and returns its height.
  double party(const invoice_party& p, double x, double y, double width,
               PangoAlignment align, std::string_view label) {
    double h = 0;
    if (!label.empty())
      h += text(label, style::small, x, y, width, align, grey) + 2;
    h += text(p.name, style::bold, x, y + h, width, align);
    for (const auto& line : p.address)
      h += text(line, style::body, x, y + h, width, align);
    if (!p.country.empty())
      h += text(p.country, style::body, x, y + h, width, align);
    if (!p.tax_id.empty())
      h += text("Tax ID: " + p.tax_id, style::body, x, y + h, width, align);
    if (!p.email.empty())
      h += text(p.email, style::body, x, y + h, width, align);
    return h;
  }

  void parties() {
    double left = party(doc_.buyer, margin_x, y_, content_width / 2 - 10,
                        PANGO_ALIGN_LEFT, "Bill to");
    std::vector<std::pair<std::string_view, std::string_view>> facts;
    facts.emplace_back("Issue date", doc_.issue_date);
    if (!doc_.due_date.empty())
      facts.emplace_back("Due date", doc_.due_date);
    if (doc_.paid_date)
      facts.emplace_back("Paid date", *doc_.paid_date);
    if (!doc_.status.empty())
      facts.emplace_back("Status", doc_.status);
    if (!doc_.currency.empty())
      facts.emplace_back("Currency", doc_.currency);
    if (doc_.refers_to)
      facts.emplace_back("Credits invoice", *doc_.refers_to);
    double x = margin_x + content_width / 2;
    double label_w = content_width / 4;
    double right = 0;
    for (const auto& [label, value] : facts) {
      text(label, style::body, x, y_ + right, label_w, PANGO_ALIGN_LEFT, grey);
      right += text(value, style::body, x + label_w, y_ + right, label_w,
                    PANGO_ALIGN_RIGHT);
    }
    y_ += std::max(left, right) + 24;
    first_content_y_ = y_;
  }

  double description_width() const {
    return content_width - amount_width - (has_periods_ ? period_width : 0) - 8;
  }

  void lines_header() {
    double amount_x = margin_x + content_width - amount_width;
    auto amount = doc_.currency.empty() ? std::string{"Amount"}
                                        : "Amount (" + doc_.currency + ")";
    double h = text("Description", style::bold, margin_x, y_,
                    description_width());
    if (has_periods_)
      text("Period", style::bold, amount_x - period_width, y_, period_width);
    text(amount, style::bold, amount_x, y_, amount_width, PANGO_ALIGN_RIGHT);
    y_ += h + row_padding;
    rule(y_, black, 0.8);
    y_ += row_padding;
  }

  void lines() {
    lines_header();
    repeat_header_ = [this] {
      lines_header();
    };
    double amount_x = margin_x + content_width - amount_width;
    for (const auto& l : doc_.lines) {
      double h = measure(l.description, style::body, description_width());
      ensure(h + 2 * row_padding);
      text(l.description, style::body, margin_x, y_, description_width());
      if (l.period)
        text(*l.period, style::small, amount_x - period_width, y_ + 1,
             period_width, PANGO_ALIGN_LEFT, grey);
      text(l.amount, style::body, amount_x, y_, amount_width,
           PANGO_ALIGN_RIGHT);
      y_ += h + row_padding;
      rule(y_);
      y_ += row_padding;
    }
    repeat_header_ = nullptr;
  }

  void totals() {
    struct row {
      std::string label;
      std::string_view value;
      style st = style::body;
      bool rule_above = false;
    };
    std::vector<row> rows;
    rows.push_back({"Subtotal", doc_.subtotal});
    for (const auto& t : doc_.taxes)
      rows.push_back(
        {t.rate.empty() ? t.name : t.name + " " + t.rate, t.amount});
    rows.push_back({"Total", doc_.total, style::bold, true});
    if (!doc_.amount_paid.empty())
      rows.push_back({"Amount paid", doc_.amount_paid});
    if (!doc_.amount_due.empty())
      rows.push_back({"Amount due", doc_.amount_due, style::bold});
    double line_h = measure("Ag", style::bold, content_width) + 3;
    y_ += 8;
    ensure(line_h * static_cast<double>(rows.size()));
    double x = margin_x + content_width / 2;
    double w = content_width / 2;
    for (const auto& r : rows) {
      if (r.rule_above)
        rule(y_ - 1.5, black, 0.8, x);
      text(r.label, r.st, x, y_, w - amount_width - 8);
      text(r.value, r.st, x + w - amount_width, y_, amount_width,
           PANGO_ALIGN_RIGHT);
      y_ += line_h;
    }
  }

  void reverse_charge() {
    if (!doc_.reverse_charge)
      return;
    constexpr std::string_view note
      = "Reverse charge: VAT to be accounted for by the recipient.";
    y_ += 12;
    double h = measure(note, style::bold, content_width);
    ensure(h);
    y_ += text(note, style::bold, margin_x, y_, content_width);
  }

  void payments_header() {
    double w = content_width - amount_width;
    double h = text("Date", style::bold, margin_x, y_, w * 0.25);
    text("Gateway", style::bold, margin_x + w * 0.25, y_, w * 0.25);
    text("Transaction", style::bold, margin_x + w * 0.5, y_, w * 0.5);
    text("Amount", style::bold, margin_x + w, y_, amount_width,
         PANGO_ALIGN_RIGHT);
    y_ += h + row_padding;
    rule(y_, black, 0.8);
    y_ += row_padding;
  }

  void payments() {
    if (doc_.payments.empty())
      return;
    y_ += 18;
    double heading = measure("Payments", style::heading, content_width) + 4;
    double row = measure("Ag", style::body, content_width) + 2 * row_padding;
    ensure(heading + 2 * row);
    y_ += text("Payments", style::heading, margin_x, y_, content_width) + 4;
    payments_header();
    repeat_header_ = [this] {
      payments_header();
    };
    double w = content_width - amount_width;
    for (const auto& p : doc_.payments) {
      double h = measure(p.transaction_id, style::body, w * 0.5 - 8);
      ensure(h + 2 * row_padding);
      text(p.date, style::body, margin_x, y_, w * 0.25 - 8);
      text(p.gateway, style::body, margin_x + w * 0.25, y_, w * 0.25 - 8);
      text(p.transaction_id, style::body, margin_x + w * 0.5, y_, w * 0.5 - 8);
      text(p.amount, style::body, margin_x + w, y_, amount_width,
           PANGO_ALIGN_RIGHT);
      y_ += h + row_padding;
      rule(y_);
      y_ += row_padding;
    }
    repeat_header_ = nullptr;
  }

  void notes() {
    if (doc_.notes.empty())
      return;
    y_ += 18;
    std::string_view rest{doc_.notes};
    bool first = true;
    while (!rest.empty() || first) {
      auto end = rest.find('\n');
      auto para = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{}
                                           : rest.substr(end + 1);
      double h = measure(para.empty() ? " " : para, style::body, content_width);
      if (first) {
        double heading = measure("Notes", style::heading, content_width) + 4;
        ensure(heading + h);
        y_ += text("Notes", style::heading, margin_x, y_, content_width) + 4;
        first = false;
      } else {
        ensure(h);
      }
      if (!para.empty())
        text(para, style::body, margin_x, y_, content_width);
      y_ += h + 2;
    }
  }

  cairo_t* cr_;
  const invoice_document& doc_;
  layout_ptr layouts_[5];
  bool has_periods_ = false;
  int page_ = 1;
  double y_ = margin_top;
  /// Where content starts on this page: a block taller than a whole page is
  /// drawn there (and runs off) rather than breaking pages forever.
  double first_content_y_ = page_height;
  /// Redraws the header of the table in progress on a new page.
  std::function<void()> repeat_header_;
};

} // namespace

caf::expected<std::string> render_invoice_pdf(const invoice_document& doc) {
  if (!valid_utf8(doc))
    return make_error(billow_errc::invalid_argument,
                      "invoice document: a text is not valid UTF-8");
  std::string out;
  // A one-page invoice is about 30 KB, mostly the embedded font subsets.
  out.reserve(size_t{64} * 1024);
  surface_ptr surface{cairo_pdf_surface_create_for_stream(
    append_bytes, &out, page_width, page_height)};
  if (auto st = cairo_surface_status(surface.get()); st != CAIRO_STATUS_SUCCESS)
    return cairo_error(st);
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE,
                                 doc.number.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR,
                                 "Billow");
  if (!doc.seller.name.empty())
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_AUTHOR,
                                   doc.seller.name.c_str());
  {
    cairo_ptr cr{cairo_create(surface.get())};
    if (auto st = cairo_status(cr.get()); st != CAIRO_STATUS_SUCCESS)
      return cairo_error(st);
    // A context of our own on this thread's default font map (Pango's font
    // maps are per thread since 1.32.6), at 72 dpi so that a font size in
    // points is a size in PDF points, without hinting: glyph positions in a
    // PDF are not snapped to a pixel grid.
    context_ptr ctx{pango_cairo_create_context(cr.get())};
    pango_cairo_context_set_resolution(ctx.get(), 72);
    font_options_ptr options{cairo_font_options_create()};
    cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(ctx.get(), options.get());
    renderer{cr.get(), ctx.get(), doc}.run();
    if (auto st = cairo_status(cr.get()); st != CAIRO_STATUS_SUCCESS)
      return cairo_error(st);
  }
  cairo_surface_finish(surface.get());
  if (auto st = cairo_surface_status(surface.get()); st != CAIRO_STATUS_SUCCESS)
    return cairo_error(st);
  return out;
}

} // namespace billow::billing
