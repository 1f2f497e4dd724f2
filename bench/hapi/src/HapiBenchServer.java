/*
 * The HAPI FHIR side of bench/fhir_search.py: a plain HAPI FHIR RestfulServer (R4) with
 * in-memory resource providers for Patient and Observation, in Jetty 12 (ee10 servlets),
 * mounted at /fhir like ours, answering the same requests:
 *
 *   GET /fhir/Patient/{id}                          read
 *   GET /fhir/Patient?identifier=[system|]value     search (OR by comma)
 *   GET /fhir/Observation/{id}                      read
 *   GET /fhir/Observation?patient=id&code=[system|]code   search (OR by comma in each)
 *   PUT /fhir/{type}/{id}                           update (the bench loads our resources)
 *
 * Indexes are hash maps kept on update, as a hand-written HAPI plain server would keep them;
 * no persistence, no audit, no paging (a search answers every match in one Bundle).
 *
 * Usage: java -cp 'classes:lib/*' HapiBenchServer PORT  (prints "listening PORT" when up)
 */

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.RequiredParam;
import ca.uhn.fhir.rest.annotation.ResourceParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.annotation.Update;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.MethodOutcome;
import ca.uhn.fhir.rest.param.ReferenceOrListParam;
import ca.uhn.fhir.rest.param.ReferenceParam;
import ca.uhn.fhir.rest.param.TokenOrListParam;
import ca.uhn.fhir.rest.param.TokenParam;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;

public final class HapiBenchServer {
  private HapiBenchServer() {}

  /** Resources by id plus one token-keyed index: what both providers share. */
  static final class Table<T extends Resource> {
    final Map<String, T> byId = new ConcurrentHashMap<>();
    final Map<String, Set<String>> byKey = new ConcurrentHashMap<>();
    private final Function<T, List<String>> keys;

    Table(Function<T, List<String>> keys) {
      this.keys = keys;
    }

    synchronized void put(String id, T resource) {
      T old = byId.put(id, resource);
      if (old != null) {
        for (String key : keys.apply(old)) {
          byKey.getOrDefault(key, Collections.emptySet()).remove(id);
        }
      }
      for (String key : keys.apply(resource)) {
        byKey.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(id);
      }
    }

    /** Stores the resource under the id of the PUT URL, as HAPI's update does. */
    MethodOutcome update(IdType id, T resource) {
      resource.setId(id.toUnqualifiedVersionless());
      put(id.getIdPart(), resource);
      return new MethodOutcome(resource.getIdElement(), true);
    }

    T read(IdType id) {
      T found = byId.get(id.getIdPart());
      if (found == null) {
        throw new ResourceNotFoundException(id);
      }
      return found;
    }

    Set<String> ids(String key) {
      return byKey.getOrDefault(key, Collections.emptySet());
    }
  }

  /** FHIR token matching (search.html#token): system|code, |code (no system), bare code. */
  static boolean matches(TokenParam token, String system, String code) {
    if (token.getValue() == null || token.getValue().isEmpty()) {
      return token.getSystem() != null && token.getSystem().equals(system);
    }
    if (!token.getValue().equals(code)) {
      return false;
    }
    if (token.getSystem() == null) {
      return true;
    }
    return token.getSystem().isEmpty() ? system == null : token.getSystem().equals(system);
  }

  static boolean anyCoding(TokenOrListParam tokens, CodeableConcept concept) {
    for (TokenParam token : tokens.getValuesAsQueryTokens()) {
      for (Coding coding : concept.getCoding()) {
        if (matches(token, coding.getSystem(), coding.getCode())) {
          return true;
        }
      }
    }
    return false;
  }

  /** Patient: read, search by identifier (indexed by value), update. */
  public static final class PatientProvider implements IResourceProvider {
    final Table<Patient> table =
        new Table<>(
            p -> {
              List<String> out = new ArrayList<>();
              for (Identifier identifier : p.getIdentifier()) {
                out.add(identifier.getValue());
              }
              return out;
            });

    @Override
    public Class<Patient> getResourceType() {
      return Patient.class;
    }

    @Read
    public Patient read(@IdParam IdType id) {
      return table.read(id);
    }

    @Search
    public List<Patient> byIdentifier(
        @RequiredParam(name = Patient.SP_IDENTIFIER) TokenOrListParam identifier) {
      List<Patient> out = new ArrayList<>();
      for (TokenParam token : identifier.getValuesAsQueryTokens()) {
        for (String id : table.ids(token.getValue())) {
          Patient patient = table.byId.get(id);
          if (patient != null && hasIdentifier(patient, token) && !out.contains(patient)) {
            out.add(patient);
          }
        }
      }
      return out;
    }

    private static boolean hasIdentifier(Patient patient, TokenParam token) {
      for (Identifier identifier : patient.getIdentifier()) {
        if (matches(token, identifier.getSystem(), identifier.getValue())) {
          return true;
        }
      }
      return false;
    }

    @Update
    public MethodOutcome update(@IdParam IdType id, @ResourceParam Patient patient) {
      return table.update(id, patient);
    }
  }

  /** Observation: read, search by patient and code (indexed by patient), update. */
  public static final class ObservationProvider implements IResourceProvider {
    final Table<Observation> table =
        new Table<>(
            o -> {
              String ref = o.getSubject().getReferenceElement().getIdPart();
              return ref == null ? List.of() : List.of(ref);
            });

    @Override
    public Class<Observation> getResourceType() {
      return Observation.class;
    }

    @Read
    public Observation read(@IdParam IdType id) {
      return table.read(id);
    }

    @Search
    public List<Observation> byPatientAndCode(
        @RequiredParam(name = Observation.SP_PATIENT) ReferenceOrListParam patient,
        @RequiredParam(name = Observation.SP_CODE) TokenOrListParam code) {
      List<Observation> out = new ArrayList<>();
      for (ReferenceParam ref : patient.getValuesAsQueryTokens()) {
        for (String id : table.ids(ref.getIdPart())) {
          Observation observation = table.byId.get(id);
          if (observation != null && anyCoding(code, observation.getCode())) {
            out.add(observation);
          }
        }
      }
      return out;
    }

    @Update
    public MethodOutcome update(@IdParam IdType id, @ResourceParam Observation observation) {
      return table.update(id, observation);
    }
  }

  /** The servlet: HAPI's plain server with the two providers, answering JSON. */
  public static final class BenchRestfulServer extends RestfulServer {
    public BenchRestfulServer() {
      super(FhirContext.forR4Cached());
      setDefaultResponseEncoding(EncodingEnum.JSON);
      setResourceProviders(new PatientProvider(), new ObservationProvider());
    }
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Server server = new Server(port);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    context.addServlet(new ServletHolder(new BenchRestfulServer()), "/fhir/*");
    server.setHandler(context);
    server.start();
    System.out.println("listening " + port);
    System.out.flush();
    server.join();
  }
}
