#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace storage {
// Least-recently-used cache: the front of order_ is the most recently touched entry.
class LruCache {
public:
    explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

    bool get(const std::string& key, int& out) {
        auto it = index_.find(key);
        if (it == index_.end()) {
            return false;
        }
        order_.splice(order_.begin(), order_, it->second);
        out = it->second->second;
        return true;
    }

    void put(const std::string& key, int value) {
        auto it = index_.find(key);
        if (it != index_.end()) {
            it->second->second = value;
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        while (!order_.empty() && order_.size() >= capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
        order_.emplace_front(key, value);
        index_[key] = order_.begin();
    }

private:
    using Entry = std::pair<std::string, int>;
    std::size_t capacity_;
    std::list<Entry> order_;
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace storage

// Sorts the spans and folds every overlapping pair into one.
std::vector<std::pair<int, int>> mergeSpans(std::vector<std::pair<int, int>> spans) {
    std::vector<std::pair<int, int>> result;
    if (spans.empty()) {
        return result;
    }
    std::sort(spans.begin(), spans.end());
    int openAt = spans.front().first;
    int closeAt = spans.front().second;
    for (std::size_t i = 1; i < spans.size(); ++i) {
        const auto& next = spans[i];
        if (next.first <= closeAt) {
            closeAt = std::max(closeAt, next.second);
        } else {
            result.emplace_back(openAt, closeAt);
            openAt = next.first;
            closeAt = next.second;
        }
    }
    result.emplace_back(openAt, closeAt);
    return result;
}

// FNV-1a variant that ignores characters repeated more than three times in a row.
std::uint64_t fnvDigest(const std::string& text, std::uint64_t seed) {
    std::uint64_t hash = 14695981039346656037ull ^ seed;
    int run = 0;
    char previous = '\0';
    for (char ch : text) {
        if (ch == previous) {
            ++run;
        } else {
            run = 0;
        }
        if (run > 3) {
            continue;
        }
        hash ^= static_cast<unsigned char>(ch);
        hash *= 1099511628211ull;
        previous = ch;
    }
    return hash;
}

std::vector<std::string> tokenizeExpression(const std::string& source) {
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos < source.size()) {
        const unsigned char c = static_cast<unsigned char>(source[pos]);
        if (c == ' ' || c == '\t') {
            ++pos;
        } else if (std::isdigit(c)) {
            const std::size_t start = pos;
            while (pos < source.size() && std::isdigit(static_cast<unsigned char>(source[pos]))) {
                ++pos;
            }
            tokens.push_back(source.substr(start, pos - start));
        } else if (std::isalpha(c) || c == '_') {
            const std::size_t start = pos;
            while (pos < source.size() && (std::isalnum(static_cast<unsigned char>(source[pos])) || source[pos] == '_')) {
                ++pos;
            }
            tokens.push_back(source.substr(start, pos - start));
        } else {
            tokens.emplace_back(1, static_cast<char>(c));
            ++pos;
        }
    }
    return tokens;
}
