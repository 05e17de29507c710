# frozen_string_literal: true

module Ledger
  # Imports bank statements exported as INI-like text and CSV amounts.
  class Importer
    attr_reader :errors

    def initialize(currency = 'USD')
      @currency = currency
      @errors = []
    end

    def parse_ini(text)
      sections = { 'global' => {} }
      current = 'global'
      text.each_line.with_index(1) do |raw, lineno|
        line = raw.sub(/[;#].*$/, '').strip
        next if line.empty?

        if line.start_with?('[') && line.end_with?(']')
          current = line[1..-2].strip.downcase
          sections[current] ||= {}
        elsif (eq = line.index('='))
          key = line[0...eq].strip
          value = line[(eq + 1)..-1].strip
          sections[current][key] = value
        else
          @errors << "line #{lineno}: cannot parse #{line.inspect}"
        end
      end
      sections
    end

    def merge_ranges(pairs)
      ordered = pairs.sort_by { |pair| [pair[0], -pair[1]] }
      result = []
      ordered.each do |lo, hi|
        if result.empty? || lo > result.last[1] + 1
          result << [lo, hi]
        else
          last = result.last
          last[1] = hi if hi > last[1]
        end
      end
      total = result.sum { |lo, hi| hi - lo + 1 }
      @errors << "ranges cover nothing" if total.zero? && !pairs.empty?
      result
    end

    def wrap(text, width = 72)
      lines = []
      buffer = +''
      text.split(/\s+/).each do |word|
        if !buffer.empty? && buffer.length + 1 + word.length > width
          lines << buffer
          buffer = +''
        end
        buffer << ' ' unless buffer.empty?
        buffer << word
      end
      lines << buffer unless buffer.empty?
      lines
    end

    def amount_in_cents(field)
      cleaned = field.to_s.delete(',').strip
      negative = cleaned.start_with?('(') && cleaned.end_with?(')')
      cleaned = cleaned[1..-2] if negative
      cleaned = cleaned.sub(/\A#{Regexp.escape(@currency)}\s*/, '')
      whole, frac = cleaned.split('.', 2)
      frac = (frac || '').ljust(2, '0')[0, 2]
      cents = whole.to_i * 100 + frac.to_i
      if cents.negative?
        @errors << "unexpected sign in #{field.inspect}"
        cents = -cents
      end
      negative ? -cents : cents
    end
  end
end
