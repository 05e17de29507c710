# A reader of section files: headers in brackets, then key = value lines.
class SectionReader
  def initialize(lines)
    @lines = lines
    @sections = {}
  end

  def read_all
    until @lines.empty? do
      line = @lines.shift.strip
      next if line.empty? || line.start_with?('#')
      case line
      when /\A\[(\w+)\]\z/ then
        current = Regexp.last_match(1)
        @sections[current] ||= {}
      else
        key, value = line.split('=', 2).map(&:strip)
        raise ArgumentError, "line outside a section: #{line}" if current.nil?
        @sections[current][key] = value
      end
    end
    for name in @sections.keys do
      @sections[name].freeze
    end
    @sections
  end
end
