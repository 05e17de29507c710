#include "common_code.h"

#include "sharded_index.h"

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
  // Both catch up, also when one of them fails; the first error is returned.
  Status Refresh() override {
    const Status b = base_->Refresh();
    const Status c = common_->Refresh();
    if (!b.ok()) return b;
    return c.ok() ? c : c.WithContext(Context());
  }

  Status GetGramPostings(Kind kind, std::span<const uint64_t> grams, std::vector<Posting>* out) const override {
    DOPPEL_RETURN_IF_ERROR(base_->GetGramPostings(kind, grams, out));
    // Only the lists the protected index holds are looked up in the common one.
    std::vector<uint64_t> held;
    std::vector<size_t> at;
    for (size_t i = 0; i < out->size(); ++i) {
      const Posting& p = (*out)[i];
      if (p.saturated || p.ids.empty()) continue;
      held.push_back(grams[i]);
      at.push_back(i);
    }
    if (held.empty()) return Status::OK();
    std::vector<Posting> common;
    if (const Status s = common_->GetGramPostings(kind, held, &common); !s.ok()) return s.WithContext(Context());
    for (size_t j = 0; j < at.size(); ++j) {
      Posting& p = (*out)[at[j]];
      Posting& c = common[j];
      if (c.saturated) {
        p.common = common_->params().posting_cap + 1;
        continue;
      }
      // Removed or replaced common documents stay in lists until a compaction drops them.
      std::erase_if(c.ids, [&](uint32_t id) { return common_->IsDeleted(id); });
      p.common = static_cast<uint32_t>(c.ids.size());
      p.common_ids = std::move(c.ids);
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
  Status ReadTokenStream(uint32_t id, std::string* stream) const override { return base_->ReadTokenStream(id, stream); }
  Result<std::optional<uint32_t>> FindName(const std::string& name) const override { return base_->FindName(name); }
  bool IsDeleted(uint32_t id) const override { return base_->IsDeleted(id); }
  bool MayHoldGrams(Kind kind) const override { return base_->MayHoldGrams(kind); }
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
  const std::string id = ReadRocksIdentity(dir);
  if (std::filesystem::equivalent(dir, common_dir, ec) || (!id.empty() && id == ReadRocksIdentity(common_dir))) {
    return Status::InvalidArgument("common-code index " + common_dir + " is the protected index " + dir +
                                   " (or a copy of it)");
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
