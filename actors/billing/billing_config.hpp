#pragma once

// The billing settings and tax rules as the log has them: the streams
// `billing-settings` (`billing.settings_updated`, the whole settings each
// time) and `tax-rules` (`tax_rule.created`), read again only when they grew.
// What an account actor issues with (`terms`) and what the settings and tax
// rule routes answer.

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/billing/billing.hpp"
#include "actors/billing/settings.hpp"
#include "actors/billing/tax.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::billing {

inline constexpr const char* settings_stream = "billing-settings";
inline constexpr const char* tax_rules_stream = "tax-rules";

class billing_config {
public:
  struct snapshot {
    billing_settings settings;
    /// The settings stream's version (If-Match of a PUT).
    uint64_t settings_version = 0;
    std::vector<tax_rule> rules;
    uint64_t rules_version = 0;
  };

  explicit billing_config(const events::event_store& store) : store_(store) {}

  /// The settings and rules as stored now.
  caf::expected<std::shared_ptr<const snapshot>> current() const;

  /// What issuing uses now: number formats, the seller, apply_credit and the
  /// tax engine over the rules of the client's country.
  billing_terms terms() const;

private:
  const events::event_store& store_;
  mutable std::mutex mtx_;
  mutable std::shared_ptr<const snapshot> cached_
    = std::make_shared<const snapshot>();
};

/// The seller block of the settings' company, as copied onto an invoice.
boost::json::object seller_of(const billing_settings& settings);

} // namespace billow::billing
