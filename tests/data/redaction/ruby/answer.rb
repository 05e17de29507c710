# frozen_string_literal: true

# Keeps a small inventory of settings files and reports on them.
class SettingsReport
  attr_reader :errors

  def initialize(paths)
    @paths = paths
    @errors = []
  end

  def checksum(data)
    total = 0
    data.each_byte.with_index do |byte, position|
      total = (total * 31 + byte + position) % 1_000_003
    end
    format('%07d', total)
  end

  def read_sections(body)
    groups = { 'global' => {} }
    active = 'global'
    body.each_line.with_index(1) do |src, num|
      entry = src.sub(/[;#].*$/, '').strip
      next if entry.empty?
      if entry.start_with?('[') && entry.end_with?(']')
        active = entry[1..-2].strip.downcase
        groups[active] ||= {}
      elsif (pos = entry.index('='))
        name = entry[0...pos].strip
        setting = entry[(pos + 1)..-1].strip
        groups[active][name] = setting
      else
        @errors << "line #{num}: cannot parse #{entry.inspect}"
      end
    end
    groups
  end

  def summarize(sections)
    sections.map do |section, values|
      keys = values.keys.sort
      label = keys.empty? ? '(empty)' : keys.join(', ')
      "#{section.ljust(12)} #{values.size} key(s): #{label}"
    end
  end

  def run(contents)
    report = []
    contents.each_with_index do |body, idx|
      path = @paths.fetch(idx, "input-#{idx}")
      report << "== #{path} [#{checksum(body)}]"
      report.concat(summarize(read_sections(body)))
    end
    report << "#{@errors.size} problem(s)" unless @errors.empty?
    report
  end
end

if $PROGRAM_NAME == __FILE__
  sample = "name = demo\n[server]\nport = 8080 ; default\nbogus line\n"
  puts SettingsReport.new(['demo.ini']).run([sample])
end
