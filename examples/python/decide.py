#!/usr/bin/python3
"""A buildgated client in Python, on Debian's python3-grpcio.

Generate the stubs with Debian's protoc and gRPC Python plugin (the test
command does this into the build tree):

  protoc -I proto --python_out=OUT --grpc_python_out=OUT \
         --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
         proto/buildgate/v1/*.proto proto/google/rpc/*.proto

then run with OUT on PYTHONPATH:

  PYTHONPATH=OUT examples/python/decide.py 127.0.0.1:50051

It asks the server how a Build and Push to ECR may run under the stored
policy set of org "acme", prints the decision, and shows how a refused
request names the bad field (google.rpc.BadRequest in the error details).
"""
import sys

import grpc
from google.protobuf import json_format

from buildgate.v1 import common_pb2, decision_pb2, service_pb2, service_pb2_grpc, step_pb2
from google.rpc import error_details_pb2, status_pb2


def decide(stub, org, step):
    request = service_pb2.DecideRequest(policy=service_pb2.PolicySource(org_id=org), step=step)
    return stub.Decide(request, timeout=5, metadata=[("x-buildgate-caller", "python-example")])


def bad_request_fields(error):
    """The (field, description) pairs a refused call's details carry."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    return [(v.field, v.description) for v in bad.field_violations]
    return []


def main(address):
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.BuildGateServiceStub(channel)
        step = step_pb2.BuildStep(
            step_id="build_and_push_payments_api_to_ecr",
            kind=step_pb2.STEP_KIND_BUILD_AND_PUSH_ECR,
            registry="123456789012.dkr.ecr.us-east-1.amazonaws.com",
            repo="acme/payments-api",
            tags=["<+pipeline.sequenceId>"],
            arch=common_pb2.ARCH_AMD64,
        )
        response = decide(stub, "acme", step)
        d = response.decision
        print(f"decision {response.decision_id}: {decision_pb2.Verdict.Name(d.verdict)}, "
              f"builder {common_pb2.Builder.Name(d.builder)}, privileged {d.privileged}, "
              f"runAsUser {d.run_as_user}")
        print(json_format.MessageToJson(d, indent=1)[:400], "...")

        # A bad request: no kind. The status is INVALID_ARGUMENT and the
        # details say which field.
        try:
            decide(stub, "acme", step_pb2.BuildStep(repo="acme/payments-api"))
        except grpc.RpcError as error:
            print(f"refused: {error.code().name}: {error.details()}")
            for field, description in bad_request_fields(error):
                print(f"  field {field}: {description}")
            return 0
        print("expected the step without a kind to be refused", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"))
