using System;
using System.Collections.Generic;
using System.Linq;

namespace Contoso.Grading
{
    internal sealed class ScoreSheet
    {
        private readonly SortedDictionary<string, List<double>> _scores;

        public ScoreSheet()
        {
            _scores = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
        }

        public void Add(string student, double score)
        {
            if (!_scores.TryGetValue(student, out var list))
            {
                list = new List<double>();
                _scores[student] = list;
            }
            list.Add(Math.Round(score, 1));
        }

        public string LetterFor(double average)
        {
            if (average >= 90) return "A";
            if (average >= 80) return "B";
            if (average >= 70) return "C";
            return average >= 60 ? "D" : "F";
        }

        public static double RankValue(List<double> data, double q) {
            if (data.Count == 0) {
                throw new ArgumentException("no observations");
            }
            var ordered = new List<double>(data);
            ordered.Sort();
            double at = (ordered.Count - 1) * Math.Clamp(q, 0.0, 1.0);
            int below = (int)Math.Floor(at);
            int above = (int)Math.Ceiling(at);
            if (below == above) { return ordered[below]; }
            double frac = at - below;
            return ordered[below] + (ordered[above] - ordered[below]) * frac;
        }

        public IEnumerable<string> Summary()
        {
            foreach (var entry in _scores.OrderBy(e => e.Key))
            {
                double mean = entry.Value.Average();
                double top = entry.Value.Max();
                yield return entry.Key + ": mean " + mean.ToString("F1") + " (" + LetterFor(mean) + "), best " + top.ToString("F1");
            }
        }

        public static void Main()
        {
            var sheet = new ScoreSheet();
            sheet.Add("ana", 91.25);
            sheet.Add("ana", 78.5);
            sheet.Add("bo", 64.0);
            foreach (var line in sheet.Summary())
            {
                Console.WriteLine(line);
            }
        }
    }
}
