// Client for the aiops.v1 API: the generated messages and services, typed clients over
// any connect Transport, and helpers that read the google.rpc details the server sends.
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { DataSourceService } from "./gen/aiops/v1/data_source_service_pb";
import { DetectorService } from "./gen/aiops/v1/detector_service_pb";
import { EventService } from "./gen/aiops/v1/event_service_pb";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb";

export * from "./gen/aiops/v1/anomaly_pb";
export * from "./gen/aiops/v1/data_source_pb";
export * from "./gen/aiops/v1/data_source_service_pb";
export * from "./gen/aiops/v1/detector_pb";
export * from "./gen/aiops/v1/detector_service_pb";
export * from "./gen/aiops/v1/error_reason_pb";
export * from "./gen/aiops/v1/event_pb";
export * from "./gen/aiops/v1/event_service_pb";
export * from "./gen/aiops/v1/log_pattern_pb";
export { watch, type WatchOptions } from "./watch";
// Re-exported so that callers can match codes without importing connect themselves.
export { Code, ConnectError };

/** The domain of every ErrorInfo the aiops server sends. */
export const ERROR_DOMAIN = "aiops.dev";

export interface AiopsClients {
  dataSources: Client<typeof DataSourceService>;
  detectors: Client<typeof DetectorService>;
  events: Client<typeof EventService>;
}

/**
 * One client per service, all sharing `transport`. For a gRPC server from Node, pass
 * `createGrpcTransport({ baseUrl: "http://host:port" })` from @connectrpc/connect-node.
 */
export function createAiopsClients(transport: Transport): AiopsClients {
  return {
    dataSources: createClient(DataSourceService, transport),
    detectors: createClient(DetectorService, transport),
    events: createClient(EventService, transport),
  };
}

/**
 * The invalid request fields named by the error's google.rpc.BadRequest detail, as
 * field path (such as `data_source.urls[0]`) to description; empty for other errors.
 */
export function fieldViolations(err: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!(err instanceof ConnectError)) {
    return result;
  }
  for (const badRequest of err.findDetails(BadRequestSchema)) {
    for (const violation of badRequest.fieldViolations) {
      // One field can break several rules; keep every description.
      const seen = result[violation.field];
      result[violation.field] = seen ? `${seen}; ${violation.description}` : violation.description;
    }
  }
  return result;
}

/**
 * The stable reason of an aiops error, such as `RESOURCE_NOT_FOUND` (an ErrorReason name
 * without its `ERROR_REASON_` prefix); undefined when the error carries none, for
 * example when it never reached the server.
 */
export function errorReason(err: unknown): string | undefined {
  if (!(err instanceof ConnectError)) {
    return undefined;
  }
  return err.findDetails(ErrorInfoSchema).find((info) => info.domain === ERROR_DOMAIN)?.reason;
}
