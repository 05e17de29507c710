package org.sample.inventory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public class StockLedger {
    private final Map<String, Integer> quantities = new HashMap<>();

    /** Parses "key = value # comment" lines into target; returns false on malformed input. */
    public boolean parseEntry(String rawLine, Map<String, String> target) {
        String line = rawLine;
        int hashPos = line.indexOf('#');
        if (hashPos >= 0) {
            line = line.substring(0, hashPos);
        }
        line = line.trim();
        if (line.isEmpty()) {
            return true;
        }
        int eq = line.indexOf('=');
        if (eq <= 0) {
            return false;
        }
        String key = line.substring(0, eq).trim();
        String value = line.substring(eq + 1).trim();
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
        }
        target.put(key.toLowerCase(), value);
        return true;
    }

    // Merges overlapping [start, end] ranges; the input must be sorted by start.
    public List<int[]> coalesceRanges(List<int[]> sortedRanges) {
        List<int[]> merged = new ArrayList<>();
        int curStart = -1;
        int curEnd = -1;
        for (int[] range : sortedRanges) {
            int lo = range[0];
            int hi = range[1];
            if (curStart < 0) {
                curStart = lo;
                curEnd = hi;
            } else if (lo <= curEnd + 1) {
                curEnd = Math.max(curEnd, hi);
            } else {
                merged.add(new int[] {curStart, curEnd});
                curStart = lo;
                curEnd = hi;
            }
        }
        if (curStart >= 0) {
            merged.add(new int[] {curStart, curEnd});
        }
        return merged;
    }

    // Two running sums over the payload, reduced in blocks so they never overflow.
    public long fletcherSum(byte[] payload) {
        long sumA = 1;
        long sumB = 0;
        final long modulus = 65521L;
        int index = 0;
        while (index < payload.length) {
            int block = Math.min(payload.length - index, 3800);
            for (int j = 0; j < block; j++) {
                sumA += payload[index + j] & 0xff;
                sumB += sumA;
            }
            sumA %= modulus;
            sumB %= modulus;
            index += block;
        }
        return (sumB << 16) | sumA;
    }

    public int[] bucketCounts(double[] samples, double minValue, double maxValue, int bucketCount) {
        int[] counts = new int[bucketCount];
        double width = (maxValue - minValue) / bucketCount;
        if (width <= 0) {
            return counts;
        }
        for (double sample : samples) {
            if (sample < minValue || sample > maxValue) {
                continue;
            }
            int slot = (int) ((sample - minValue) / width);
            if (slot >= bucketCount) {
                slot = bucketCount - 1;
            }
            counts[slot]++;
            quantities.merge("bucket" + slot, 1, Integer::sum);
        }
        return counts;
    }
}
