#pragma once

// The invoice of the API (docs/api.md, "The invoice", as the billing
// aggregates answer it, personal values revealed) as the document the PDF
// renderer prints.

#include <boost/json/object.hpp>

#include "billing_document/invoice_pdf.hpp"

namespace billow::billing {

/// The document of `invoice`: title by type, seller and buyer blocks, lines
/// with their periods, taxes, totals, payments and the credit note's
/// reference.
invoice_document document_of_invoice(const boost::json::object& invoice);

} // namespace billow::billing
