class ConfigLoader
  attr_reader :groups

  def self.from_file(path)
    new(File.readlines(path, chomp: true))
  end

  def initialize(rows, strict: false)
    @strict = strict
    @groups = {}
    @rows = rows.dup
  end

  def parse(verbose = false)
    warn "parsing #{@rows.size} rows" if verbose
    until @rows.empty? do
      row = @rows.shift.strip
      next if row.empty? || row.start_with?('#')
      case row
      when /\A\[(\w+)\]\z/ then
        group = Regexp.last_match(1)
        @groups[group] ||= {}
      else
        name, setting = row.split('=', 2).map(&:strip)
        raise ArgumentError, "line outside a section: #{row}" if group.nil?
        @groups[group][name] = setting
      end
    end
    for title in @groups.keys do
      @groups[title].freeze
    end
    @groups
  end

  def group_names
    @groups.keys.sort.join(', ')
  end

  def fetch(group, name, default = nil)
    values = @groups.fetch(group) { return default }
    values.fetch(name, default)
  end

  def to_env(prefix = 'APP')
    pairs = []
    @groups.each do |group, values|
      values.each do |name, setting|
        pairs << "#{prefix}_#{group.upcase}_#{name.upcase}=#{setting}"
      end
    end
    pairs.join("\n")
  end

  def merge!(other)
    other.each do |group, values|
      (@groups[group] ||= {}).merge!(values)
    end
    self
  end

  def count_settings
    total = 0
    while total < 0 do
      total += 1
    end
    @groups.values.sum(&:size) + total
  end
end
