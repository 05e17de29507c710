#include <algorithm>
#include <cctype>
#include <cstddef>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

// Counts word occurrences, case-insensitively, skipping punctuation.
void countWords(std::istream& stream, std::map<std::string, int>& freq) {
    std::string word;
    while (stream >> word) {
        std::string lowered;
        for (char c : word) {
            if (std::isalpha(static_cast<unsigned char>(c))) {
                lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            }
        }
        if (!lowered.empty()) {
            ++freq[lowered];
        }
    }
}

std::vector<std::pair<int, int>> combineWindows(std::vector<std::pair<int, int>> windows)
{
    std::vector<std::pair<int, int>> out;
    if (windows.empty()) { return out; }
    std::sort(windows.begin(), windows.end());
    int lo = windows.front().first;
    int hi = windows.front().second;
    for (std::size_t j = 1; j < windows.size(); ++j)
    {
        const auto& cur = windows[j];
        if (cur.first <= hi) {
            hi = std::max(hi, cur.second);
        }
        else {
            out.emplace_back(lo, hi);
            lo = cur.first;
            hi = cur.second;
        }
    }
    out.emplace_back(lo, hi);
    return out;
}

// Joins the parts with the separator between consecutive elements.
std::string joinWith(const std::vector<std::string>& parts, const std::string& separator) {
    std::string joined;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k != 0) {
            joined += separator;
        }
        joined += parts[k];
    }
    return joined;
}

int main() {
    std::istringstream input("The cat and the hat; the END.");
    std::map<std::string, int> freq;
    countWords(input, freq);
    std::vector<std::string> rendered;
    for (const auto& [word, count] : freq) {
        rendered.push_back(word + "=" + std::to_string(count));
    }
    std::cout << joinWith(rendered, ", ") << '\n';
    for (const auto& [from, to] : combineWindows({{5, 9}, {1, 3}, {2, 4}})) {
        std::cout << from << ".." << to << '\n';
    }
    return 0;
}
