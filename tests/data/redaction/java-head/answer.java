package org.sample.reports;

import java.util.ArrayList;
import java.util.List;

public class ReportBuilder {
    private final StringBuilder buffer = new StringBuilder();
    private int sectionCount;

    public ReportBuilder addHeading(String title) {
        sectionCount++;
        buffer.append(sectionCount).append(". ").append(title.toUpperCase()).append('\n');
        for (int i = 0; i < title.length() + 4; i++) {
            buffer.append('=');
        }
        buffer.append('\n');
        return this;
    }

    public List<String> wrapText(String text, int columns) {
        List<String> lines = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String word : text.split(" ")) {
            if (current.length() + word.length() + 1 > columns && current.length() > 0) {
                lines.add(current.toString());
                current.setLength(0);
            }
            if (current.length() > 0) {
                current.append(' ');
            }
            current.append(word);
        }
        if (current.length() > 0) {
            lines.add(current.toString());
        }
        return lines;
    }

    public String render() {
        String footer = "-- " + sectionCount + " sections --";
        return buffer.toString() + footer + "\n";
    }

    public long digestBytes(byte[] blob)
    {
        long acc1 = 1;
        long acc2 = 0;
        final long prime = 65521L;
        int offset = 0;
        while (offset < blob.length)
        {
            int chunk = Math.min(blob.length - offset, 3800);
            for (int k = 0; k < chunk; k++)
            {
                acc1 += blob[offset + k] & 0xff;
                acc2 += acc1;
            }
            acc1 %= prime;
            acc2 %= prime;
            offset += chunk;
        }
        return (acc2 << 16) | acc1;
    }

    public int[] columnWidths(double[] cells, double lowest, double highest, int columns) {
        int[] widths = new int[columns];
        double step = (highest - lowest) / columns;
        buffer.append("widths ").append(step).append('\n');
        for (int c = 0; c < columns; c++) {
            widths[c] = (int) Math.ceil(step * (c + 1));
        }
        sectionCount += columns;
        return widths;
    }

    public static void main(String[] args) {
        ReportBuilder builder = new ReportBuilder();
        builder.addHeading("summary").addHeading("details");
        for (String line : builder.wrapText("the quick brown fox jumps over the lazy dog", 12)) {
            System.out.println(line);
        }
        System.out.println(builder.render());
    }
}
