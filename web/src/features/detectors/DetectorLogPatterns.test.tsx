import {
  DetectorService,
  Detector_State,
  LogPatternRates_Source,
  LogPatternSchema,
  Severity,
  createAiopsClients,
  type ListLogPatternsRequest,
} from "@aiops/client";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeClock, renderWithProviders, settle } from "../../utils/test-utils";
import { DetectorLogPatterns, PATTERNS_DEBOUNCE_MS, PATTERNS_REFRESH_MS, patternFilter } from "./DetectorLogPatterns";
import type { DetectorView } from "./model";

const NAME = "detectors/logs";
const T0 = Date.UTC(2026, 0, 1, 11);

const detector = (state = Detector_State.RUNNING): DetectorView => ({
  name: NAME,
  displayName: "",
  description: "",
  dataSource: "dataSources/loki",
  query: '{app="api"}',
  stepSeconds: 60,
  algorithm: { kind: "log_pattern", params: {} },
  direction: 0,
  minDeviation: null,
  warning: null,
  critical: null,
  state,
  stateReason: "",
  createTime: null,
  updateTime: null,
  etag: "",
});

const PATTERNS = [
  create(LogPatternSchema, {
    name: `${NAME}/logPatterns/3`,
    template: 'level=error msg=<*> host=<*>',
    count: 40n,
    exampleLine: 'level=error msg="database connection lost" host=db-1',
    rate: 0.5,
    score: 0.97,
    severity: Severity.CRITICAL,
    error: true,
    inBaseline: false,
    firstSeenTime: timestampFromMs(T0),
    lastSeenTime: timestampFromMs(T0 + 60_000),
  }),
  create(LogPatternSchema, {
    name: `${NAME}/logPatterns/1`,
    template: "GET <*> 200",
    count: 900n,
    exampleLine: "GET /orders/1 200",
    rate: 0.1,
    score: 0.2,
    inBaseline: true,
    firstSeenTime: timestampFromMs(T0 - 3_600_000),
    lastSeenTime: timestampFromMs(T0 + 60_000),
  }),
];

/** A server of ListLogPatterns alone: pages of `pageSize`, `error = true` and `template:` filters. */
function serve() {
  const requests: ListLogPatternsRequest[] = [];
  const transport = createRouterTransport((router) => {
    router.service(DetectorService, {
      listLogPatterns: (request: ListLogPatternsRequest) => {
        requests.push(request);
        let found = PATTERNS.filter((p) => !request.filter.includes("error = true") || p.error);
        const text = /template:"([^"]*)"/.exec(request.filter)?.[1];
        if (text !== undefined) found = found.filter((p) => p.template.includes(text));
        const offset = Number(request.pageToken || "0");
        const page = found.slice(offset, offset + request.pageSize);
        const next = offset + page.length;
        return {
          logPatterns: page,
          totalSize: found.length,
          nextPageToken: next < found.length ? String(next) : "",
          evictedCount: 7n,
          source: LogPatternRates_Source.MINED,
        };
      },
    });
  });
  return { requests, clients: createAiopsClients(transport) };
}

describe("DetectorLogPatterns", () => {
  it("lists the templates, most anomalous first, with their lines, rate, score and example", async () => {
    const { clients } = serve();
    renderWithProviders(<DetectorLogPatterns detector={detector()} />, { clients, clock: new FakeClock() });
    const table = await screen.findByRole("table", { name: `Log patterns of ${NAME}` });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((row) => row.getAttribute("aria-label"))).toEqual([
      `${NAME}/logPatterns/3`,
      `${NAME}/logPatterns/1`,
    ]);
    expect(within(rows[0]).getByText("level=error msg=<*> host=<*>")).toBeTruthy();
    expect(within(rows[0]).getByText("error, new")).toBeTruthy();
    expect(within(rows[0]).getByText(/Critical/)).toBeTruthy();
    expect(within(rows[0]).getByText(/database connection lost/)).toBeTruthy();
    expect(within(rows[1]).getByText("900")).toBeTruthy();
    expect(screen.getByText(/2 templates, from lines mined by the detector; 7 forgotten/)).toBeTruthy();
  });

  it("narrows to error templates and to a text", async () => {
    const { clients, requests } = serve();
    const clock = new FakeClock();
    const { user } = renderWithProviders(<DetectorLogPatterns detector={detector(Detector_State.STOPPED)} />, {
      clients,
      clock,
    });
    await screen.findByRole("table");
    await user.click(screen.getByRole("checkbox", { name: "Errors only" }));
    await clock.advance(0);
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(2));
    expect(requests.at(-1)?.filter).toBe("error = true");

    await user.click(screen.getByRole("checkbox", { name: "Errors only" }));
    await user.type(screen.getByRole("searchbox"), "GET");
    await clock.advance(PATTERNS_DEBOUNCE_MS);
    await waitFor(() => expect(requests.at(-1)?.filter).toBe('template:"GET"'));
    await waitFor(() => expect(screen.getByText("GET <*> 200")).toBeTruthy());
    expect(screen.queryByText("level=error msg=<*> host=<*>")).toBeNull();
  });

  it("reads a running detector's templates again now and then", async () => {
    const { clients, requests } = serve();
    const clock = new FakeClock();
    renderWithProviders(<DetectorLogPatterns detector={detector()} />, { clients, clock });
    await screen.findByRole("table");
    const before = requests.length;
    await clock.advance(PATTERNS_REFRESH_MS);
    await settle();
    expect(requests.length).toBeGreaterThan(before);
  });

  it("builds its filter", () => {
    expect(patternFilter("", false)).toBe("");
    expect(patternFilter(' say "hi" ', true)).toBe('template:"say \\"hi\\"" AND error = true');
  });
});
