using System;
using System.Collections.Generic;
using System.Text;

namespace Acme.Telemetry
{
    public class MetricsParser
    {
        private readonly Dictionary<string, double> _latest = new Dictionary<string, double>();

        // Reads "metric_name{labels} 12.5" and remembers the latest value per metric.
        public bool TryParseSample(string line, out string name, out double value)
        {
            name = string.Empty;
            value = 0.0;
            if (string.IsNullOrWhiteSpace(line))
            {
                return false;
            }
            var pieces = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (pieces.Length < 2)
            {
                return false;
            }
            var metric = pieces[0].Trim();
            var braceAt = metric.IndexOf('{');
            if (braceAt > 0)
            {
                metric = metric.Substring(0, braceAt);
            }
            if (!double.TryParse(pieces[1], out var parsed))
            {
                return false;
            }
            name = metric;
            value = parsed;
            _latest[metric] = parsed;
            return true;
        }

        // Linear interpolation between the two closest ranks.
        public static double Percentile(List<double> observations, double rank)
        {
            if (observations.Count == 0)
            {
                throw new ArgumentException("no observations");
            }
            var sorted = new List<double>(observations);
            sorted.Sort();
            double position = (sorted.Count - 1) * Math.Clamp(rank, 0.0, 1.0);
            int lower = (int)Math.Floor(position);
            int upper = (int)Math.Ceiling(position);
            if (lower == upper)
            {
                return sorted[lower];
            }
            double fraction = position - lower;
            return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
        }

        public static string EscapeLabel(string raw)
        {
            var builder = new StringBuilder(raw.Length + 8);
            foreach (char c in raw)
            {
                switch (c)
                {
                    case '\\':
                        builder.Append("\\\\");
                        break;
                    case '"':
                        builder.Append("\\\"");
                        break;
                    case '\n':
                        builder.Append("\\n");
                        break;
                    default:
                        if (char.IsControl(c))
                            builder.AppendFormat("\\u{0:x4}", (int)c);
                        else
                            builder.Append(c);
                        break;
                }
            }
            return builder.ToString();
        }

        // Sliding-window maximum using a deque of indices.
        public static int[] RollingMax(int[] series, int window)
        {
            var result = new int[Math.Max(0, series.Length - window + 1)];
            var deque = new LinkedList<int>();
            for (int i = 0; i < series.Length; i++)
            {
                while (deque.Count > 0 && deque.First.Value <= i - window)
                {
                    deque.RemoveFirst();
                }
                while (deque.Count > 0 && series[deque.Last.Value] <= series[i])
                {
                    deque.RemoveLast();
                }
                deque.AddLast(i);
                if (i >= window - 1)
                {
                    result[i - window + 1] = series[deque.First.Value];
                }
            }
            return result;
        }
    }
}
