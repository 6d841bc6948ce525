/**
 * Reads the decision log and its backups into a readiness report, one file
 * after another and one line at a time. A line that cannot be read, or a
 * file that cannot (a corrupt backup), is counted and the report goes on.
 *
 * @module
 */

import { describe } from "../core/errors.ts";
import { fileLines, logFiles } from "./log_files.ts";
import { readLogLine } from "./logged_decision.ts";
import { type Report, reportBuilder } from "./report.ts";

/** How many malformed lines a report quotes. */
const EXAMPLES = 10;

/**
 * Reads a log's files into a report.
 *
 * @param logPath The log file (its backups are found beside it).
 * @param since Count decisions from this time on (milliseconds since the epoch).
 * @returns The report.
 */
export async function readReport(logPath: string, since?: number): Promise<Report> {
  const builder = reportBuilder(since);
  const { read } = builder;
  const example = (text: string) => {
    if (read.examples.length < EXAMPLES) read.examples.push(text);
  };
  for (const file of await logFiles(logPath)) {
    read.files.push(file);
    let number = 0;
    try {
      for await (const line of fileLines(file)) {
        number++;
        if (line.kind === "truncated") {
          read.truncated++;
        } else if (line.kind === "oversized") {
          read.oversized++;
        } else if (line.text !== "") {
          const logged = readLogLine(line.text);
          if (logged.kind === "decision") builder.add(logged.decision);
          else if (logged.kind === "other") read.other++;
          else {
            read.malformed++;
            example(`${file}:${number}: ${logged.reason}`);
          }
        }
      }
    } catch (error) {
      read.malformed++;
      example(`${file}: unreadable after line ${number}: ${describe(error)}`);
    }
  }
  return builder.finish();
}
