#include "common_code.h"

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace doppel {
namespace {

class WithCommonCode final : public Index {
 public:
  WithCommonCode(std::unique_ptr<Index> base, std::unique_ptr<Index> common)
      : base_(std::move(base)), common_(std::move(common)) {}

  const SketchParams& params() const override { return base_->params(); }
  const std::string& dir() const override { return base_->dir(); }
  const Index* common_code() const override { return common_.get(); }

  // (Both are read-only opens: the protected index refuses writes itself.)
  Status Write(std::vector<SketchedDocument>* batch, WriteSummary* summary) override {
    return base_->Write(batch, summary);
  }
  Status Remove(std::span<const std::string> names, uint64_t* removed, uint64_t* missing) override {
    return base_->Remove(names, removed, missing);
  }
  Status Compact() override { return base_->Compact(); }
  Status Flush() override { return base_->Flush(); }
  Status Refresh() override {
    DOPPEL_RETURN_IF_ERROR(base_->Refresh());
    const Status s = common_->Refresh();
    return s.ok() ? s : s.WithContext(Context());
  }

  Status GetGramPostings(Kind kind, std::span<const uint64_t> grams, std::vector<Posting>* out) const override {
    DOPPEL_RETURN_IF_ERROR(base_->GetGramPostings(kind, grams, out));
    // Only the lists the protected index holds are looked up in the common one.
    std::vector<uint64_t> held;
    std::vector<size_t> at;
    for (size_t i = 0; i < out->size(); ++i) {
      const Posting& p = (*out)[i];
      if (p.saturated || p.ids.empty()) continue;
      if (p.ids.back() >= kCommonCodeIds) {
        return Status::Internal("index " + base_->dir() + " has ids past " + std::to_string(kCommonCodeIds) +
                                ", which a common-code index cannot be read beside");
      }
      held.push_back(grams[i]);
      at.push_back(i);
    }
    if (held.empty()) return Status::OK();
    std::vector<Posting> common;
    if (const Status s = common_->GetGramPostings(kind, held, &common); !s.ok()) return s.WithContext(Context());
    for (size_t j = 0; j < at.size(); ++j) {
      Posting& p = (*out)[at[j]];
      const Posting& c = common[j];
      if (c.saturated) {
        p.saturated = true;
        p.ids.clear();
        continue;
      }
      p.ids.reserve(p.ids.size() + c.ids.size());
      for (const uint32_t id : c.ids) {
        if (id >= kCommonCodeIds) {
          return Status::Internal(Context() + ": ids past " + std::to_string(kCommonCodeIds) + " are not supported");
        }
        p.ids.push_back(kCommonCodeIds + id);  // after the protected ids: the list stays sorted
      }
    }
    return Status::OK();
  }
  Status GetBandPostings(Kind query, std::span<const BandKey> keys, std::vector<Posting>* out) const override {
    return base_->GetBandPostings(query, keys, out);
  }
  Result<DocumentInfo> GetDocument(uint32_t id) const override { return base_->GetDocument(id); }
  Result<std::string> GetContent(uint32_t id) const override { return base_->GetContent(id); }
  Result<std::string> GetContent(const DocumentInfo& doc) const override { return base_->GetContent(doc); }
  Result<Signature> GetSignature(uint32_t id) const override { return base_->GetSignature(id); }
  Result<Tokens> GetTokens(uint32_t id) const override { return base_->GetTokens(id); }
  Result<std::optional<uint32_t>> FindName(const std::string& name) const override { return base_->FindName(name); }
  bool IsDeleted(uint32_t id) const override { return id >= kCommonCodeIds || base_->IsDeleted(id); }
  Result<IndexStats> Stats() const override { return base_->Stats(); }
  Status Verify(const VerifyOptions& options, VerifyReport* report) const override {
    return base_->Verify(options, report);
  }

 private:
  std::string Context() const { return "common-code index " + common_->dir(); }

  std::unique_ptr<Index> base_;
  std::unique_ptr<Index> common_;
};

}  // namespace

Result<std::unique_ptr<Index>> OpenWithCommonCode(const std::string& dir, const IndexOptions& options) {
  const std::string& common_dir = options.common_code;
  if (!options.read_only) {
    return Status::InvalidArgument("common-code index " + common_dir + ": only read-only opens read one");
  }
  std::error_code ec;
  if (std::filesystem::equivalent(dir, common_dir, ec)) {
    return Status::InvalidArgument("common-code index " + common_dir + " is the protected index itself");
  }
  IndexOptions io = options;
  io.common_code.clear();
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Index> base, Index::Open(dir, io));
  io.params = base->params();  // fingerprints compare only under the same parameters
  auto common = Index::Open(common_dir, io);
  if (!common.ok()) return common.status().WithContext("common-code index " + common_dir);
  return std::unique_ptr<Index>(new WithCommonCode(std::move(base), std::move(common).value()));
}

}  // namespace doppel
